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

package rollout

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/version"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// ReasonNotEvaluated is the Choice reason for a pinned version whose
// eligibility has not been decided for its current generation yet.
const ReasonNotEvaluated = lifecyclev1alpha1.ReasonVersionNotEvaluated

// conditionEligible is the condition that carries a version's verdict.
const conditionEligible = "Eligible"

// Judged says whether mv carries a verdict (its Eligible condition) for its
// current spec.
func Judged(mv *lifecyclev1alpha1.ModelVersion) bool {
	c := meta.FindStatusCondition(mv.Status.Conditions, conditionEligible)
	return c != nil && c.ObservedGeneration == mv.Generation
}

// Choice is the version a product should serve, or why there is none.
type Choice struct {
	// Version is the chosen ModelVersion; nil when none can be chosen.
	Version *lifecyclev1alpha1.ModelVersion
	// Reason is a CamelCase reason when Version is nil or not Eligible.
	Reason string
	// Message explains Reason.
	Message string
}

// Choose picks the version to serve from a product's versions. Pinned:
// the named version, which must exist and, unless it already serves
// production, be Eligible. LatestEligible: the Eligible version with the
// highest semantic version that was never Rejected.
func Choose(sel lifecyclev1alpha1.ModelVersionSelection, versions []lifecyclev1alpha1.ModelVersion, production string) Choice {
	if sel.Policy == lifecyclev1alpha1.VersionLatestEligible {
		var best *lifecyclev1alpha1.ModelVersion
		var bestV *version.Version
		for i := range versions {
			mv := &versions[i]
			if !mv.Status.Eligible || mv.Status.Stage == lifecyclev1alpha1.StageRejected || !mv.DeletionTimestamp.IsZero() {
				continue
			}
			v, err := version.ParseSemantic(strings.TrimPrefix(mv.Spec.Version, "v"))
			if err != nil {
				continue
			}
			if best == nil || v.GreaterThan(bestV) || (v.EqualTo(bestV) && mv.Name > best.Name) {
				best, bestV = mv, v
			}
		}
		if best == nil {
			return Choice{Reason: lifecyclev1alpha1.ReasonNoEligibleVersion, Message: "no ModelVersion of this product is Eligible"}
		}
		return Choice{Version: best}
	}
	for i := range versions {
		mv := &versions[i]
		if mv.Name != string(sel.Name) {
			continue
		}
		if mv.Name != production && !mv.Status.Eligible {
			if !Judged(mv) {
				// A wait, not a refusal: the verdict comes without anyone
				// acting, so it is told apart from VersionNotEligible.
				return Choice{Version: mv, Reason: ReasonNotEvaluated,
					Message: fmt.Sprintf("waiting for ModelVersion %s to be evaluated", mv.Name)}
			}
			c := meta.FindStatusCondition(mv.Status.Conditions, conditionEligible)
			return Choice{Version: mv, Reason: lifecyclev1alpha1.ReasonVersionNotEligible,
				Message: fmt.Sprintf("ModelVersion %s is not Eligible: %s", mv.Name, c.Message)}
		}
		return Choice{Version: mv}
	}
	return Choice{Reason: lifecyclev1alpha1.ReasonVersionNotFound, Message: fmt.Sprintf("waiting for ModelVersion %s of this product", sel.Name)}
}
