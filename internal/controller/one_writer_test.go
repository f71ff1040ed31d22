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

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// statusManagers returns the field managers that wrote obj's status.
func statusManagers(obj client.Object) []string {
	var out []string
	for _, f := range obj.GetManagedFields() {
		if f.Subresource == "status" {
			out = append(out, f.Manager)
		}
	}
	return out
}

var _ = Describe("One writer per object", func() {
	It("has each kind's status written by its own controller alone, through a whole product life", func() {
		p := retrainingProduct()
		p.Spec.Phase = lifecyclev1alpha1.PhaseDelivery
		p.Spec.Delivery.Monitoring = nil
		p.Spec.Delivery.Retraining.OnDrift = false
		p.Spec.Delivery.Retraining.Schedule = "0 3 * * *"
		p.Spec.Delivery.Rollout = &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: ptr.To[int32](50)}}}
		p.Spec.Discovery.Experiments = []lifecyclev1alpha1.DiscoveryExperiment{experimentOf("sandbox", lifecyclev1alpha1.ExperimentSandbox, "v1",
			lifecyclev1alpha1.SuccessCriterion{Name: "auc", Query: "auc{version=$version}", Threshold: "0.8", Direction: lifecyclev1alpha1.AtLeast})}
		fakeProm.Set(`auc{version="v1"}`, 0.9)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
		v1mv := eligibleVersion(p, "v1", "1.0.0")

		By("a real experiment opens the Discovery gate and the first version serves")
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(expState(g, p, "sandbox")).To(Equal("Succeeded"))
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
			g.Expect(stageOf(g, v1mv)).To(Equal(lifecyclev1alpha1.StageProduction))
		}, 40*time.Second).Should(Succeed())

		By("a canary is promoted")
		v2mv := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v2"))
			g.Expect(stageOf(g, v2mv)).To(Equal(lifecyclev1alpha1.StageProduction))
			g.Expect(stageOf(g, v1mv)).To(Equal(lifecyclev1alpha1.StageArchived))
		}).Should(Succeed())

		By("a retraining run registers a version")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "one-writer")
		var job batchv1.Job
		Eventually(func(g Gomega) {
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
		}).Should(Succeed())
		finishJob(&job, goodResult)
		registered := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: p.Name + "-v2-0-1", Namespace: p.Namespace}}
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, registered) })
		Eventually(func(g Gomega) {
			g.Expect(fetch(g, p).Status.Retraining.LastRun.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded))
			g.Expect(stageOf(g, registered)).To(Equal(lifecyclev1alpha1.StageCandidate))
		}).Should(Succeed())

		By("every status was written by its kind's controller, and only by it")
		Expect(statusManagers(fetchProduct(p))).To(ConsistOf("aipm-operator/aiproduct"))
		for _, mv := range []*lifecyclev1alpha1.ModelVersion{v1mv, v2mv, registered} {
			Expect(statusManagers(fetchMV(Default, mv))).To(ConsistOf("aipm-operator/modelversion"), mv.Name)
		}
		exp := &lifecyclev1alpha1.Experiment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ExperimentName(p.Name, "sandbox")}, exp)).To(Succeed())
		Expect(statusManagers(exp)).To(ConsistOf("aipm-operator/experiment"))
		Expect(statusManagers(runOf(p, job.Name))).To(ConsistOf("aipm-operator/retrainingrun"))
	})
})
