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
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var _ = Describe("Business objectives as rollout guardrails", func() {
	conversion := func(p *lifecyclev1alpha1.AIProduct, version string) string {
		return fmt.Sprintf(`conversion{product=%q, version=%q}`, p.Name, version)
	}
	guarded := func(objective string) *lifecyclev1alpha1.AIProduct {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](50)},
			lifecyclev1alpha1.RolloutStep{Analysis: &lifecyclev1alpha1.AnalysisSpec{
				Objectives: []string{objective}, MaxObjectiveDegradation: "0.1",
				Interval: metav1.Duration{Duration: time.Second}, Count: 2,
			}})
		p.Spec.Strategy.Objectives = append(p.Spec.Strategy.Objectives, lifecyclev1alpha1.Objective{
			Name: "conversion", Query: "conversion{product=$product, version=$version}", Target: "0.05", Direction: lifecyclev1alpha1.AtLeast})
		return p
	}

	It("aborts a canary that does 20% worse than stable on a business objective, naming it", func() {
		p := guarded("conversion")
		enterDelivery(p)
		productionV1(p)
		fakeProm.Set(conversion(p, "v1"), 0.1)
		fakeProm.Set(conversion(p, "v2"), 0.08)
		v2 := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(got.Status.Rollout.Analysis).To(ContainElement(And(
				HaveField("Name", "objective/conversion"), HaveField("Value", lifecyclev1alpha1.Decimal("0.2")),
				HaveField("Result", lifecyclev1alpha1.ResultMissed))))
			g.Expect(fetchMV(g, v2).Status.StageReason).To(Equal(
				"v2 rolled back: guardrail on objective conversion: the canary did 20% worse than the stable version, at most 10% allowed"))
		}).Should(Succeed())
	})

	It("promotes a canary within the allowed degradation", func() {
		p := guarded("conversion")
		enterDelivery(p)
		productionV1(p)
		fakeProm.Set(conversion(p, "v1"), 0.1)
		fakeProm.Set(conversion(p, "v2"), 0.095)
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
		}).Should(Succeed())
		Expect(fakeProm.Count(conversion(p, "v1"))).To(BeNumerically(">=", 2), "the stable version was measured on each measurement")
	})

	It("pauses, saying why, on an objective that cannot tell the canary from the stable version", func() {
		p := guarded("ctr")
		enterDelivery(p)
		productionV1(p)
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutInconclusive))
			g.Expect(got.Status.Rollout.Message).To(ContainSubstring(
				"objective ctr cannot guard a rollout: its query must use $version, without matchLabels, to tell the canary from the stable version"))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())
	})
})
