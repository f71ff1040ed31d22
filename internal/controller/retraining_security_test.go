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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var _ = Describe("Retraining Job security", func() {
	// The suite's reconciler runs with no --retraining-service-accounts,
	// so only the namespace's default ServiceAccount is allowed.
	It("refuses a template that names another ServiceAccount or runs privileged, says why, and starts nothing until it is fixed", func() {
		p := retrainingProduct()
		p.Spec.Delivery.Retraining.OnDrift = false
		p.Spec.Delivery.Retraining.Schedule = "0 3 * * *"
		pod := &p.Spec.Delivery.Retraining.Template.Spec.Template
		pod.Spec.ServiceAccountName = "namespace-admin"
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "ticket-7")

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			c := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionRetrainingAllowed)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(lifecyclev1alpha1.ReasonTemplateRefused))
			g.Expect(c.Message).To(And(ContainSubstring(`serviceAccountName "namespace-admin" is not one the operator allows`),
				ContainSubstring("privileged")))
			g.Expect(got.Status.Retraining).NotTo(BeNil())
			g.Expect(got.Status.Retraining.Pending).To(ContainSubstring("no run starts until the Job template is allowed"))
			g.Expect(got.Status.Retraining.NextScheduleTime).To(BeNil())
			g.Expect(eventReasons(p)).To(ContainElement(lifecyclev1alpha1.ReasonTemplateRefused))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(productJobs(g, p)).To(BeEmpty()) }, 2*time.Second).Should(Succeed())

		By("the team fixes the template: the waiting manual request runs, hardened")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			tpl := &got.Spec.Delivery.Retraining.Template.Spec.Template.Spec
			tpl.ServiceAccountName = ""
			tpl.Containers[0].SecurityContext = nil
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionRetrainingAllowed).Status).To(Equal(metav1.ConditionTrue))
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			spec := jobs[0].Spec.Template.Spec
			g.Expect(spec.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
			g.Expect(spec.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
			g.Expect(spec.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
			sc := spec.Containers[0].SecurityContext
			g.Expect(sc.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
			g.Expect(sc.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
			g.Expect(sc.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
		}).Should(Succeed())
	})

	It("holds every pod of a JobSet template to the same policy, naming the pod, and a run on a cluster without JobSet waits with a condition", func() {
		p := retrainingProduct()
		p.Spec.Delivery.Retraining.OnDrift = false
		p.Spec.Delivery.Retraining.Schedule = "0 3 * * *"
		p.Spec.Delivery.Retraining.Template = nil
		p.Spec.Delivery.Retraining.Backend = lifecyclev1alpha1.BackendJobSet
		jobSet := func(hostNetwork bool) *lifecyclev1alpha1.WorkloadTemplate {
			return &lifecyclev1alpha1.WorkloadTemplate{Spec: runtime.RawExtension{Raw: []byte(fmt.Sprintf(`{"replicatedJobs":[
				{"name":"driver","replicas":1,"template":{"spec":{"template":{"spec":{"containers":[{"name":"train","image":"t:1"}]}}}}},
				{"name":"workers","replicas":2,"template":{"spec":{"template":{"spec":{"hostNetwork":%t,"containers":[{"name":"w","image":"t:1"}]}}}}}]}`, hostNetwork))}}
		}
		p.Spec.Delivery.Retraining.JobSet = jobSet(true)
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "ticket-8")

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			c := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionRetrainingAllowed)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(lifecyclev1alpha1.ReasonTemplateRefused))
			g.Expect(c.Message).To(ContainSubstring("the JobSet template is refused: spec.replicatedJobs[workers].template.spec.template: host namespaces"))
			g.Expect(got.Status.Retraining.Pending).To(ContainSubstring("no run starts until the JobSet template is allowed"))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(productRuns(g, p)).To(BeEmpty()) }, 2*time.Second).Should(Succeed())

		By("the team fixes the template: the run starts, and waits for JobSet, which this cluster does not serve")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Delivery.Retraining.JobSet = jobSet(false)
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			runs := productRuns(g, p)
			g.Expect(runs).To(HaveLen(1))
			run := runs[0]
			g.Expect(run.Spec.Backend).To(Equal(lifecyclev1alpha1.BackendJobSet))
			g.Expect(run.Spec.ResultContainer).To(Equal("train"))
			g.Expect(string(run.Spec.Workload.Spec.Raw)).To(ContainSubstring(`"readOnlyRootFilesystem":true`))
			g.Expect(run.Status.Phase).To(Equal(lifecyclev1alpha1.RunPending))
			g.Expect(run.Status.Reason).To(Equal(lifecyclev1alpha1.ReasonBackendUnavailable))
			g.Expect(run.Status.Message).To(ContainSubstring("the JobSet backend is not installed"))
			g.Expect(condition(fetch(g, p).Status.Conditions, lifecyclev1alpha1.ConditionRetrainingAllowed).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
	})
})

func productRuns(g Gomega, p *lifecyclev1alpha1.AIProduct) []lifecyclev1alpha1.RetrainingRun {
	var list lifecyclev1alpha1.RetrainingRunList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingLabels{lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
	return list.Items
}
