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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var _ = Describe("Watched namespaces", func() {
	It("acts only on products in the namespaces it is given (--watch-namespaces)", func() {
		watched, other := &corev1.Namespace{}, &corev1.Namespace{}
		watched.GenerateName, other.GenerateName = "watched-", "other-"
		Expect(k8sClient.Create(ctx, watched)).To(Succeed())
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		watchNamespaces = []string{watched.Name}
		restartManager()
		DeferCleanup(func() {
			watchNamespaces = nil
			restartManager()
		})

		in, out := newProduct(lifecyclev1alpha1.PhaseDiscovery), newProduct(lifecyclev1alpha1.PhaseDiscovery)
		in.Namespace, out.Namespace = watched.Name, other.Name
		Expect(k8sClient.Create(ctx, in)).To(Succeed())
		Expect(k8sClient.Create(ctx, out)).To(Succeed())

		Eventually(func(g Gomega) {
			got := fetch(g, in)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			got := fetch(g, out)
			g.Expect(got.Status.ObservedGeneration).To(BeZero(), "a product outside the watched namespaces is never reconciled")
			g.Expect(got.Status.Phase).To(BeEmpty())
		}, 3*time.Second).Should(Succeed())
	})
})
