/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package webhook serves the operator's validating webhook: the checks of
// internal/admission, on every create and update of an AIProduct or a
// ModelVersion. The webhook fails closed: while it is away the API server
// accepts neither.
package webhook

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	aipmadmission "github.com/aipm-io/aipm-operator/internal/admission"
)

// +kubebuilder:webhook:path=/validate-lifecycle-aipm-io-v1alpha1-aiproduct,mutating=false,failurePolicy=fail,sideEffects=None,groups=lifecycle.aipm.io,resources=aiproducts,verbs=create;update,versions=v1alpha1,name=vaiproduct-v1alpha1.lifecycle.aipm.io,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-lifecycle-aipm-io-v1alpha1-modelversion,mutating=false,failurePolicy=fail,sideEffects=None,groups=lifecycle.aipm.io,resources=modelversions,verbs=create;update,versions=v1alpha1,name=vmodelversion-v1alpha1.lifecycle.aipm.io,admissionReviewVersions=v1,timeoutSeconds=5

// Paths the validators are served on, as the markers above name them.
const (
	ProductPath = "/validate-lifecycle-aipm-io-v1alpha1-aiproduct"
	VersionPath = "/validate-lifecycle-aipm-io-v1alpha1-modelversion"
)

// Register serves the validators on server.
func Register(server webhook.Server, scheme *runtime.Scheme) {
	server.Register(ProductPath, admission.WithValidator[*lifecyclev1alpha1.AIProduct](scheme, products{}))
	server.Register(VersionPath, admission.WithValidator[*lifecyclev1alpha1.ModelVersion](scheme, versions{}))
}

type products struct{}

func (products) ValidateCreate(_ context.Context, p *lifecyclev1alpha1.AIProduct) (admission.Warnings, error) {
	return nil, invalid("AIProduct", p.Name, aipmadmission.Product(p))
}

func (products) ValidateUpdate(_ context.Context, _, p *lifecyclev1alpha1.AIProduct) (admission.Warnings, error) {
	return nil, invalid("AIProduct", p.Name, aipmadmission.Product(p))
}

func (products) ValidateDelete(context.Context, *lifecyclev1alpha1.AIProduct) (admission.Warnings, error) {
	return nil, nil
}

type versions struct{}

func (versions) ValidateCreate(_ context.Context, mv *lifecyclev1alpha1.ModelVersion) (admission.Warnings, error) {
	return nil, invalid("ModelVersion", mv.Name, aipmadmission.Version(mv))
}

func (versions) ValidateUpdate(_ context.Context, _, mv *lifecyclev1alpha1.ModelVersion) (admission.Warnings, error) {
	return nil, invalid("ModelVersion", mv.Name, aipmadmission.Version(mv))
}

func (versions) ValidateDelete(context.Context, *lifecyclev1alpha1.ModelVersion) (admission.Warnings, error) {
	return nil, nil
}

// invalid is the API server's own Invalid error, which names each field,
// as a refusal by the schema does.
func invalid(kind, name string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{Group: lifecyclev1alpha1.GroupVersion.Group, Kind: kind}, name, errs)
}
