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
package controller

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/registry"
)

// registryCallTimeout bounds each call to a registry, and registrySyncTimeout
// a whole sync: a registry that hangs holds up the product's reconcile no
// longer than that, once per interval.
const (
	registryCallTimeout = 5 * time.Second
	registrySyncTimeout = 20 * time.Second
	defaultSyncInterval = time.Minute
)

// registryHTTP is the client every registry sync uses; one, so that
// connections are kept across products and syncs.
var registryHTTP = &http.Client{Timeout: registryCallTimeout}

// reconcileRegistry syncs the product's versions with its model registry
// when due: what the registry holds and the cluster lacks becomes a
// ModelVersion, what the cluster holds and the registry lacks is
// registered, and every version's stage is written back. A failed sync
// changes nothing it cannot finish later and is tried again at the next
// interval.
func (r *AIProductReconciler) reconcileRegistry(ctx context.Context, s *productScope) (time.Duration, error) {
	p := s.product
	d := p.Spec.Delivery
	if d == nil || d.Registry == nil {
		p.Status.Registry = nil
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionRegistrySynced)
		return 0, nil
	}
	spec := d.Registry
	key := client.ObjectKeyFromObject(p)
	if due, wait := r.registryDue.due(key, p.Generation, s.now.Time); !due {
		return wait, nil
	}
	interval := spec.Interval.Duration
	if interval <= 0 {
		interval = defaultSyncInterval
	}
	r.registryDue.set(key, p.Generation, s.now.Add(interval))
	if p.Status.Registry == nil {
		p.Status.Registry = &lifecyclev1alpha1.RegistryStatus{}
	}
	st := p.Status.Registry
	name := spec.Kubeflow.RegisteredModel
	if name == "" {
		name = p.Name
	}
	synced := func(status metav1.ConditionStatus, reason, msg string) {
		s.notify.SetCondition(ctx, p, &p.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionRegistrySynced,
			Status: status, Reason: reason, Message: msg})
	}

	sctx, cancel := context.WithTimeout(ctx, registrySyncTimeout)
	defer cancel()
	c := &registry.Client{URL: spec.Kubeflow.URL, HTTP: registryHTTP}
	res, err := registry.Sync(sctx, c, p, name, s.versionList)
	if err != nil {
		metrics.RegistrySynced(p.Namespace, p.Name, 0, 0, 0, err)
		synced(metav1.ConditionFalse, lifecyclev1alpha1.ReasonRegistryUnreachable,
			fmt.Sprintf("syncing with %s: %v; trying again in %s", spec.Kubeflow.URL, err, interval))
		return interval, nil
	}
	plan := res.Plan
	imported := 0
	for _, mv := range plan.Import {
		switch err := r.Create(ctx, mv); {
		case err == nil:
			imported++
		case apierrors.IsAlreadyExists(err):
			// A version of that name is there already, by an earlier pass
			// whose cache had not caught up, or by a person.
		case apierrors.IsInvalid(err):
			plan.Skipped = append(plan.Skipped, fmt.Sprintf("%s: ModelVersion %s refused: %v", mv.Spec.Version, mv.Name, err))
		default:
			metrics.RegistrySynced(p.Namespace, p.Name, imported, len(plan.Export), len(plan.Patch), err)
			synced(metav1.ConditionFalse, lifecyclev1alpha1.ReasonRegistryUnreachable, fmt.Sprintf("creating ModelVersion %s: %v", mv.Name, err))
			return interval, fmt.Errorf("creating ModelVersion %s from the registry: %w", mv.Name, err)
		}
	}
	metrics.RegistrySynced(p.Namespace, p.Name, imported, len(plan.Export), len(plan.Patch), nil)
	if imported+len(plan.Export) > 0 {
		s.notify.Event(ctx, p, false, "RegistrySynced", "Sync", fmt.Sprintf("Registry %s, model %s: %d version(s) imported, %d registered",
			spec.Kubeflow.URL, name, imported, len(plan.Export)))
	}
	now := s.now
	st.RegisteredModelID = res.RegisteredModelID
	st.LastSyncTime = &now
	st.Versions = int32(plan.Matched + len(plan.Export) + imported)
	if len(plan.Skipped) > 16 {
		plan.Skipped = append(plan.Skipped[:15], fmt.Sprintf("and %d more", len(plan.Skipped)-15))
	}
	st.Skipped = plan.Skipped
	msg := fmt.Sprintf("%d versions in step with registered model %s (id %s)", st.Versions, name, res.RegisteredModelID)
	if len(plan.Skipped) > 0 {
		msg += "; skipped: " + strings.Join(plan.Skipped, "; ")
	}
	synced(metav1.ConditionTrue, lifecyclev1alpha1.ReasonRegistrySynced, msg)
	return interval, nil
}
