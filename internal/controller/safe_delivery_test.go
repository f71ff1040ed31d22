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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// startPods plays the Deployment controller and kubelet of envtest, slowly:
// each call makes at most one more pod of each Deployment available, and
// takes away at once the pods a Deployment no longer asks for. It returns
// the available pods of each Deployment as they are after the call.
func startPods(g Gomega, p *lifecyclev1alpha1.AIProduct) map[string]int32 {
	var list appsv1.DeploymentList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingLabels{lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
	out := map[string]int32{}
	for i := range list.Items {
		d := &list.Items[i]
		want := *d.Spec.Replicas
		have := min(d.Status.AvailableReplicas, want)
		if have < want {
			have++
		}
		markAvailable(g, d, have)
		out[d.Name] = have
	}
	return out
}

var _ = Describe("Safe delivery", func() {
	It("never lets a rollout, its promotion or its abort drop the available pods below replicas", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](50)},
			lifecyclev1alpha1.RolloutStep{Pause: &lifecyclev1alpha1.PauseStep{}})
		enterDelivery(p)
		productionV1(p)

		lowest := int32(4)
		watch := func(g Gomega) map[string]int32 {
			avail := startPods(g, p)
			total := int32(0)
			for _, n := range avail {
				total += n
			}
			lowest = min(lowest, total)
			return avail
		}
		By("a step to 50% of 4 replicas: the canary's pods come before the stable's go")
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			watch(g)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
			g.Expect(got.Status.Rollout.EffectiveWeight).To(Equal(int32(50)))
		}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
		Expect(lowest).To(BeNumerically(">=", 4), "available pods fell below the replicas during the step")

		By("a promotion: the canary at full size before the stable goes")
		annotate(p, lifecyclev1alpha1.AnnotationPromote, "ok")
		Eventually(func(g Gomega) {
			watch(g)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(deployments(g, p)).NotTo(HaveKey(p.Name + "-v1"))
		}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
		Expect(lowest).To(BeNumerically(">=", 4), "available pods fell below the replicas during the promotion")

		By("an abort: the stable back at full size before the canary goes")
		eligibleVersion(p, "v3", "3.0.0")
		pin(p, "v3")
		Eventually(func(g Gomega) {
			watch(g)
			g.Expect(fetch(g, p).Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
		}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
		annotate(p, lifecyclev1alpha1.AnnotationAbort, "no")
		Eventually(func(g Gomega) {
			watch(g)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(deployments(g, p)).NotTo(HaveKey(p.Name + "-v3"))
		}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
		Expect(lowest).To(BeNumerically(">=", 4), "available pods fell below the replicas during the abort")
		GinkgoWriter.Printf("lowest available pods seen: %d of 4\n", lowest)
	})

	It("reports the share the canary really gets, and says when the replicas cannot give the step's weight", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](10)},
			lifecyclev1alpha1.RolloutStep{Pause: &lifecyclev1alpha1.PauseStep{}})
		p.Spec.Delivery.Serving.Replicas = 1
		enterDelivery(p)
		productionV1(p)
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Weight).To(Equal(int32(10)))
			g.Expect(got.Status.Rollout.EffectiveWeight).To(Equal(int32(50)))
			split := meta.FindStatusCondition(got.Status.Conditions, lifecyclev1alpha1.ConditionTrafficSplit)
			g.Expect(split).NotTo(BeNil())
			g.Expect(split.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(split.Reason).To(Equal(lifecyclev1alpha1.ReasonWeightUnreachable))
			g.Expect(split.Message).To(ContainSubstring("the step asks 10% for v2, and 1 replicas"))
			g.Expect(split.Message).To(ContainSubstring("give 50% at best"))
		}).Should(Succeed())
	})

	It("aborts a canary that never becomes available at the progress deadline, in its pods' words", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](25)},
			lifecyclev1alpha1.RolloutStep{Pause: &lifecyclev1alpha1.PauseStep{}})
		p.Spec.Delivery.Rollout.ProgressDeadline = &metav1.Duration{Duration: 2 * time.Second}
		enterDelivery(p)
		productionV1(p)
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		// The canary's pod crash-loops; envtest has no kubelet, so the
		// test writes what one would.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name + "-v2-abcde", Namespace: p.Namespace, Labels: serving.VersionLabels(p.Name, "v2")},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "example.com/server:1"}}},
		}
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, pod) })
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "server", Image: "example.com/server:1",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}}}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())

		Eventually(func(g Gomega) {
			// Only the stable's pods ever become available.
			var d appsv1.Deployment
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Name + "-v1"}, &d)).To(Succeed())
			markAvailable(g, &d, *d.Spec.Replicas)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.Rollout.Reason).To(Equal("ProgressDeadlineExceeded"))
			g.Expect(got.Status.Rollout.Message).To(ContainSubstring("not available within the progress deadline of 2s"))
			g.Expect(got.Status.Rollout.Message).To(ContainSubstring("container server: CrashLoopBackOff: back-off 10s restarting failed container"))
		}, 30*time.Second).Should(Succeed())
	})
})
