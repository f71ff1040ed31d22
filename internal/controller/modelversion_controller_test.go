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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func newVersion(product, version string, metrics ...string) *lifecyclev1alpha1.ModelVersion {
	mv := &lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", product, productSeq.Add(1)), Namespace: "default"},
		Spec: lifecyclev1alpha1.ModelVersionSpec{
			Product:  lifecyclev1alpha1.LocalObjectName(product),
			Version:  version,
			Artifact: lifecyclev1alpha1.Artifact{URI: "s3://models/" + product + "/" + version},
		},
	}
	for i := 0; i+1 < len(metrics); i += 2 {
		mv.Spec.Metrics = append(mv.Spec.Metrics, lifecyclev1alpha1.EvaluationMetric{Name: metrics[i], Value: lifecyclev1alpha1.Decimal(metrics[i+1])})
	}
	return mv
}

func fetchMV(g Gomega, mv *lifecyclev1alpha1.ModelVersion) *lifecyclev1alpha1.ModelVersion {
	out := &lifecyclev1alpha1.ModelVersion{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mv), out)).To(Succeed())
	return out
}

func withPromotion(p *lifecyclev1alpha1.AIProduct, policy *lifecyclev1alpha1.PromotionSpec) *lifecyclev1alpha1.AIProduct {
	p.Spec.Delivery = &lifecyclev1alpha1.DeliverySpec{
		ModelVersion: lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionLatestEligible},
		Serving:      lifecyclev1alpha1.ServingSpec{Backend: lifecyclev1alpha1.BackendKServe, InferenceService: &lifecyclev1alpha1.InferenceServiceRef{Name: "isvc"}, Replicas: 1},
		Promotion:    policy,
	}
	return p
}

var _ = Describe("ModelVersion registry", func() {
	dec := func(s string) *lifecyclev1alpha1.Decimal { d := lifecyclev1alpha1.Decimal(s); return &d }
	policy := &lifecyclev1alpha1.PromotionSpec{
		Requirements:       []lifecyclev1alpha1.MetricRequirement{{Metric: "auc", Min: dec("0.9")}, {Metric: "dpd", Max: dec("0.05")}},
		MustBeatProduction: []lifecyclev1alpha1.ProductionComparison{{Metric: "auc", Better: lifecyclev1alpha1.HigherIsBetter}},
	}

	It("waits for a product that does not exist yet, then evaluates against its policy", func() {
		p := withPromotion(newProduct(lifecyclev1alpha1.PhaseStrategy), policy)
		mv := newVersion(p.Name, "1.0.0", "auc", "0.93", "dpd", "0.02")
		Expect(k8sClient.Create(ctx, mv)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, mv)

		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			g.Expect(got.Labels).To(HaveKeyWithValue(lifecyclev1alpha1.LabelProduct, p.Name))
			g.Expect(got.Status.Stage).To(Equal(lifecyclev1alpha1.StageCandidate))
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Reason).To(Equal("ProductNotFound"))
			g.Expect(ready.Message).To(Equal(fmt.Sprintf("waiting for AIProduct %q in namespace default", p.Name)))
			g.Expect(kstatusOf(got)).To(Equal(status.InProgressStatus))
		}).Should(Succeed())

		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			g.Expect(got.Status.Eligible).To(BeTrue())
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible).Reason).To(Equal("PolicyMet"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(kstatusOf(got)).To(Equal(status.CurrentStatus))
		}).Should(Succeed())
		// Ready moved from waiting to reconciled; Eligible appeared healthy
		// at once, which is no news and so no Event.
		Eventually(func() []string { return eventReasons(mv) }).Should(ContainElement("Reconciled"))
		Expect(eventReasons(mv)).NotTo(ContainElement("Registered"))
		Expect(eventReasons(mv)).NotTo(ContainElement("PolicyMet"))

		var list lifecyclev1alpha1.ModelVersionList
		Expect(k8sClient.List(ctx, &list, client.MatchingLabels{lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
		Expect(list.Items).To(HaveLen(1))
	})

	It("says which floor, ceiling or production comparison a version fails", func() {
		p := withPromotion(newProduct(lifecyclev1alpha1.PhaseStrategy), policy)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		prod := newVersion(p.Name, "1.0.0", "auc", "0.95", "dpd", "0.01")
		Expect(k8sClient.Create(ctx, prod)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, prod)

		unfair := newVersion(p.Name, "1.1.0", "auc", "0.97", "dpd", "0.08")
		Expect(k8sClient.Create(ctx, unfair)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, unfair)
		weaker := newVersion(p.Name, "1.2.0", "auc", "0.92", "dpd", "0.01")
		Expect(k8sClient.Create(ctx, weaker)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, weaker)

		Eventually(func(g Gomega) {
			c := condition(fetchMV(g, unfair).Status.Conditions, lifecyclev1alpha1.ConditionEligible)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Message).To(Equal("dpd is 0.08, above the ceiling 0.05"))
			g.Expect(fetchMV(g, weaker).Status.Eligible).To(BeTrue(), "no production version yet: nothing to beat")
		}).Should(Succeed())

		By("a production version appearing, the weaker candidate must now beat it")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Status.ProductionVersion = prod.Name
			g.Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetchMV(g, weaker)
			g.Expect(got.Status.Eligible).To(BeFalse())
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible).Message).To(
				Equal("auc is 0.92 against production's 0.95; it must be higher by at least 0"))
			g.Expect(fetchMV(g, prod).Status.Eligible).To(BeTrue(), "production need not beat itself")
		}).Should(Succeed())

		By("the policy being relaxed in git, the verdicts follow")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Delivery.Promotion = &lifecyclev1alpha1.PromotionSpec{Requirements: []lifecyclev1alpha1.MetricRequirement{{Metric: "auc", Min: ptr.To(lifecyclev1alpha1.Decimal("0.5"))}}}
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(fetchMV(g, weaker).Status.Eligible).To(BeTrue())
			g.Expect(fetchMV(g, unfair).Status.Eligible).To(BeTrue())
		}).Should(Succeed())
	})

	It("admits every version of a product without a promotion policy", func() {
		p := newProduct(lifecyclev1alpha1.PhaseStrategy)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		mv := newVersion(p.Name, "0.1.0")
		Expect(k8sClient.Create(ctx, mv)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, mv)
		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			g.Expect(got.Status.Eligible).To(BeTrue())
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible).Reason).To(Equal("NoPolicy"))
		}).Should(Succeed())
	})
})
