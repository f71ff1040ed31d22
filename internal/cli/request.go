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

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Requests are the requests a person makes of a product, by the name the
// plugin gives them, and the annotation that carries each.
var Requests = map[string]string{
	"promote": lifecyclev1alpha1.AnnotationPromote,
	"abort":   lifecyclev1alpha1.AnnotationAbort,
	"retry":   lifecyclev1alpha1.AnnotationRetry,
	"retrain": lifecyclev1alpha1.AnnotationRetrain,
}

// RequestNames are the names of Requests, sorted.
func RequestNames() []string {
	names := make([]string, 0, len(Requests))
	for n := range Requests {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// FieldManager names the plugin in the product's managedFields.
const FieldManager = "kubectl-aipm"

// Request asks the operator to act on the product namespace/name: it sets
// the request's annotation to value, or to the current time in UTC when
// value is empty, as the Argo CD actions do. The operator acts once per
// value and removes the annotation; a retrain value names the run, so a
// value used before is refused. The patch is a merge patch of that one
// annotation, so nothing else of the product is touched.
func Request(ctx context.Context, c client.Client, namespace, name, request, value string, now time.Time) (string, error) {
	annotation, ok := Requests[request]
	if !ok {
		return "", fmt.Errorf("unknown request %q: want one of %s", request, strings.Join(RequestNames(), ", "))
	}
	if value == "" {
		value = now.UTC().Format(time.RFC3339)
	}
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{annotation: value}}})
	if err != nil {
		return "", err
	}
	p := &lifecyclev1alpha1.AIProduct{}
	p.Namespace, p.Name = namespace, name
	if err := c.Patch(ctx, p, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldManager)); err != nil {
		return "", err
	}
	return fmt.Sprintf("aiproduct.lifecycle.aipm.io/%s: %s=%s", name, annotation, value), nil
}

// Roles are the roles a person signs a promotion off as, by the name the
// plugin takes them.
var Roles = map[string]lifecyclev1alpha1.Role{
	"product-manager": lifecyclev1alpha1.RoleProductManager,
	"data-scientist":  lifecyclev1alpha1.RoleDataScientist,
	"tech-lead":       lifecyclev1alpha1.RoleTechLead,
	"designer":        lifecyclev1alpha1.RoleDesigner,
}

// Decide records a person's decision on the promotion of the product's
// canary: an Approval of the rollout's canary version, in role. The API
// server names the approver, from the credentials c uses, and refuses the
// decision unless that person holds the role in the product's spec.owners.
func Decide(ctx context.Context, c client.Client, namespace, product, role string, decision lifecyclev1alpha1.Decision,
	comment string) (string, error) {
	r, ok := Roles[role]
	if !ok {
		if r, ok = roleByKind(role); !ok {
			names := make([]string, 0, len(Roles))
			for n := range Roles {
				names = append(names, n)
			}
			slices.Sort(names)
			return "", fmt.Errorf("unknown role %q: want one of %s", role, strings.Join(names, ", "))
		}
	}
	p := &lifecyclev1alpha1.AIProduct{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: product}, p); err != nil {
		return "", err
	}
	ro := p.Status.Rollout
	if ro == nil || ro.CanaryVersion == "" || ro.Phase == lifecyclev1alpha1.RolloutSucceeded || ro.Phase == lifecyclev1alpha1.RolloutAborted {
		return "", fmt.Errorf("AIProduct %s has no rollout in progress to decide on", product)
	}
	a := &lifecyclev1alpha1.Approval{
		ObjectMeta: metav1.ObjectMeta{GenerateName: product + "-" + strings.ToLower(string(r)) + "-", Namespace: namespace},
		Spec: lifecyclev1alpha1.ApprovalSpec{Product: lifecyclev1alpha1.LocalObjectName(product),
			Version: lifecyclev1alpha1.LocalObjectName(ro.CanaryVersion), Role: r, Decision: decision, Comment: comment},
	}
	if err := c.Create(ctx, a, client.FieldOwner(FieldManager)); err != nil {
		return "", err
	}
	verb := map[lifecyclev1alpha1.Decision]string{lifecyclev1alpha1.DecisionApprove: "approved", lifecyclev1alpha1.DecisionReject: "rejected"}[decision]
	return fmt.Sprintf("approval.lifecycle.aipm.io/%s: %s %s the promotion of %s as %s", a.Name, a.Spec.Approver, verb, ro.CanaryVersion, r), nil
}

func roleByKind(s string) (lifecyclev1alpha1.Role, bool) {
	for _, r := range Roles {
		if strings.EqualFold(string(r), s) {
			return r, true
		}
	}
	return "", false
}
