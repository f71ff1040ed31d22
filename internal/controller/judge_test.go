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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var _ = Describe("Versions judged by their product", Ordered, func() {
	var api *troubledAPI

	BeforeAll(func() {
		// Only the AIProduct reconciler runs at first: every version the
		// product serves is one its own reconciler never reached.
		api = &troubledAPI{}
		stopManager()
		startManagerOpts(querierInUse, api.wrap, false)
		DeferCleanup(restartManager)
	})

	It("serves a version its own reconciler has not judged, writing the verdict and the stage in one write", func() {
		ns := api.troubleIn()
		p := deliveryProduct("v1")
		p.Namespace = ns
		p.Spec.Delivery.Promotion = &v1.PromotionSpec{Requirements: []v1.MetricRequirement{{Metric: "auc", Min: ptr.To[v1.Decimal]("0.8")}}}
		enterDelivery(p)

		start := time.Now()
		good := newVersion(p.Name, "1.0.0", "auc", "0.9")
		good.Name, good.Namespace = "v1", ns
		weak := newVersion(p.Name, "0.9.0", "auc", "0.5")
		weak.Name, weak.Namespace = "v0", ns
		for _, mv := range []*v1.ModelVersion{weak, good} {
			Expect(k8sClient.Create(ctx, mv)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, mv) })
		}
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(condition(got.Status.Conditions, v1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		mv := fetchMV(Default, good)
		Expect(mv.Status.Stage).To(Equal(v1.StageProduction))
		Expect(mv.Status.Eligible).To(BeTrue())
		eligible := condition(mv.Status.Conditions, ConditionEligible)
		Expect(eligible.Reason).To(Equal("PolicyMet"))
		Expect(eligible.ObservedGeneration).To(Equal(mv.Generation))
		Expect(condition(mv.Status.Conditions, v1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		Expect(mv.Status.ObservedGeneration).To(Equal(mv.Generation))

		versionWrites := func(name string) int {
			return api.count(start, time.Now(), func(c apiCall) bool {
				return c.verb == "update" && c.resource == "modelversions" && c.subresource == "status" && c.name == name
			})
		}
		Expect(versionWrites("v1")).To(Equal(1), "the verdict and the stage went in one write")
		Expect(versionWrites("v0")).To(Equal(0), "a verdict the product does not act on is left to the version's reconciler")
		Expect(fetchMV(Default, weak).Status.Stage).To(BeEmpty())

		By("the version's own reconciler agrees with the product's verdict and judges the other")
		stopManager()
		startManagerOpts(querierInUse, api.wrap, true)
		Eventually(func(g Gomega) {
			w := fetchMV(g, weak)
			g.Expect(w.Status.Stage).To(Equal(v1.StageCandidate))
			g.Expect(w.Status.Eligible).To(BeFalse())
			g.Expect(condition(w.Status.Conditions, ConditionEligible).Reason).To(Equal("PolicyNotMet"))
		}).Should(Succeed())
		Consistently(func() int { return versionWrites("v1") }, 2*time.Second).Should(Equal(1))
		Expect(fetchMV(Default, good).Status.Stage).To(Equal(v1.StageProduction))
	})
})
