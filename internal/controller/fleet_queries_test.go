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

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom/promtest"
)

var _ = Describe("Fleet queries", func() {
	It("answers many products' objectives from one Prometheus query, each from its own series", func() {
		query := fmt.Sprintf("max by (product) (ctr_fleet_%d)", time.Now().UnixNano())
		products := make([]*lifecyclev1alpha1.AIProduct, 4)
		for i := range products {
			p := newProduct(lifecyclev1alpha1.PhaseStrategy)
			p.Spec.Strategy.EvaluationInterval = &metav1.Duration{Duration: 10 * time.Minute}
			p.Spec.Strategy.Objectives = []lifecyclev1alpha1.Objective{{Name: "ctr", Query: lifecyclev1alpha1.PromQL(query), Target: "0.1", Direction: lifecyclev1alpha1.AtLeast,
				MatchLabels: lifecyclev1alpha1.SeriesMatch{"product": "$product", "env": "prod"}}}
			products[i] = p
		}
		met, missed, absent, doubled := products[0], products[1], products[2], products[3]
		series := func(product, env string, v float64) promtest.Series {
			return promtest.Series{Labels: map[string]string{"product": product, "env": env}, Value: v}
		}
		fakeProm.SetSeries(query,
			series(met.Name, "prod", 0.25),
			series(met.Name, "staging", 0.01), // another env: not the product's series
			series(missed.Name, "prod", 0.05),
			series(doubled.Name, "prod", 0.3),
			series(doubled.Name, "prod", 0.4),
		)
		DeferCleanup(func() { fakeProm.Unset(query) })
		for _, p := range products {
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
		}

		objective := func(g Gomega, p *lifecyclev1alpha1.AIProduct) lifecyclev1alpha1.ObjectiveStatus {
			got := fetch(g, p)
			g.Expect(got.Status.Objectives).To(HaveLen(1))
			return got.Status.Objectives[0]
		}
		Eventually(func(g Gomega) {
			o := objective(g, met)
			g.Expect(o.Result).To(Equal(lifecyclev1alpha1.ResultMet))
			g.Expect(o.Value).To(Equal(lifecyclev1alpha1.Decimal("0.25")))

			o = objective(g, missed)
			g.Expect(o.Result).To(Equal(lifecyclev1alpha1.ResultMissed))
			g.Expect(o.Value).To(Equal(lifecyclev1alpha1.Decimal("0.05")))

			o = objective(g, absent)
			g.Expect(o.Result).To(Equal(lifecyclev1alpha1.ResultUnknown))
			g.Expect(o.Message).To(Equal("the query returned no data"))

			o = objective(g, doubled)
			g.Expect(o.Result).To(Equal(lifecyclev1alpha1.ResultUnknown))
			g.Expect(o.Message).To(ContainSubstring(fmt.Sprintf(`the fleet query returned 2 series with labels {env="prod", product=%q}`, doubled.Name)))
		}).Should(Succeed())
		Expect(fakeProm.Count(query)).To(Equal(1), "four products evaluated within half their interval share one query")
	})

	It("picks the production version's drift series out of a fleet query", func() {
		query := fmt.Sprintf(`psi_fleet_%d{feature="amount"}`, time.Now().UnixNano())
		p := retrainingProduct()
		p.Spec.Delivery.Monitoring.Drift[0].Query = lifecyclev1alpha1.PromQL(query)
		p.Spec.Delivery.Monitoring.Drift[0].MatchLabels = lifecyclev1alpha1.SeriesMatch{"product": "$product", "version": "$version"}
		fakeProm.SetSeries(query,
			promtest.Series{Labels: map[string]string{"product": p.Name, "version": "v1"}, Value: 0.35},
			promtest.Series{Labels: map[string]string{"product": p.Name, "version": "v0"}, Value: 0.01},
			promtest.Series{Labels: map[string]string{"product": "another", "version": "v1"}, Value: 0.02},
		)
		DeferCleanup(func() { fakeProm.Unset(query) })
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(got.Status.Drift).To(HaveLen(1))
			g.Expect(got.Status.Drift[0].Value).To(Equal(lifecyclev1alpha1.Decimal("0.35")))
			g.Expect(got.Status.Drift[0].Result).To(Equal(lifecyclev1alpha1.ResultMissed))
			g.Expect(got.Status.Drift[0].BreachedSince).NotTo(BeNil())
		}).Should(Succeed())
	})
})
