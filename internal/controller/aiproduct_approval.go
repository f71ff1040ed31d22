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
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/index"
	"github.com/aipm-io/aipm-operator/internal/rollout"
)

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=approvals,verbs=get;list;watch

// approvals reads the decisions on the promotion of canary that count, and
// records them in the rollout's status: for each role the product's
// promotion.approvals names, the newest Approval of the canary made by the
// person spec.owners names for it now. The API server checked the
// approver when the Approval was made; an owner changed since then makes
// it count no more. It returns nil when the product needs no approval.
func (r *AIProductReconciler) approvals(ctx context.Context, p *lifecyclev1alpha1.AIProduct, canary string) (*rollout.Approval, error) {
	var roles []lifecyclev1alpha1.Role
	if pr := p.Spec.Delivery.Promotion; pr != nil {
		roles = pr.Approvals
	}
	if len(roles) == 0 {
		p.Status.Rollout.Approvals = nil
		return nil, nil
	}
	var list lifecyclev1alpha1.ApprovalList
	if err := r.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingFields{index.Product: p.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the Approvals of %s: %w", p.Name, err)
	}
	items := list.Items
	// Newest first, so that the first decision of a role found is its
	// newest; names break ties, so that the same Approvals always count
	// the same.
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].CreationTimestamp, items[j].CreationTimestamp
		if !a.Equal(&b) {
			return b.Before(&a)
		}
		return items[i].Name > items[j].Name
	})
	out := &rollout.Approval{}
	var records []lifecyclev1alpha1.ApprovalRecord
	for _, role := range roles {
		owner := p.Spec.Owners.Owner(role)
		var found *lifecyclev1alpha1.Approval
		for i := range items {
			a := &items[i]
			if string(a.Spec.Version) == canary && a.Spec.Role == role && owner != "" && a.Spec.Approver == owner {
				found = a
				break
			}
		}
		if found == nil {
			who := owner
			if who == "" {
				who = "nobody: spec.owners names no one"
			}
			out.Needed = append(out.Needed, fmt.Sprintf("%s (%s)", role, who))
			continue
		}
		records = append(records, lifecyclev1alpha1.ApprovalRecord{Role: role, Approver: found.Spec.Approver, Decision: found.Spec.Decision,
			Approval: found.Name, Time: found.CreationTimestamp, Comment: found.Spec.Comment})
		if found.Spec.Decision == lifecyclev1alpha1.DecisionReject && out.Rejected == "" {
			out.Rejected = fmt.Sprintf("rejected by %s (%s)", found.Spec.Approver, role)
			if found.Spec.Comment != "" {
				out.Rejected += ": " + found.Spec.Comment
			}
		}
	}
	p.Status.Rollout.Approvals = records
	return out, nil
}

// productOfApproval wakes the product an Approval decides on.
func productOfApproval(_ context.Context, o client.Object) []reconcile.Request {
	a := o.(*lifecyclev1alpha1.Approval)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: a.Namespace, Name: string(a.Spec.Product)}}}
}
