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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/evaluate"
)

// withEvaluation gives p a promotion policy judged on an independent
// evaluation by an evaluator container.
func withEvaluation(p *lifecyclev1alpha1.AIProduct, policy *lifecyclev1alpha1.PromotionSpec) *lifecyclev1alpha1.AIProduct {
	withPromotion(p, policy)
	p.Spec.Delivery.Evaluation = &lifecyclev1alpha1.EvaluationSpec{
		Dataset: &lifecyclev1alpha1.Dataset{URI: "s3://data/holdout/2026-12", Digest: "snapshot-7"},
		Timeout: metav1.Duration{Duration: 10 * time.Minute},
		Template: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "evaluator", Image: "example.com/evaluator:1"}},
		}}}},
	}
	return p
}

// evaluationJob waits for the evaluation Job of mv and returns it.
func evaluationJob(mv *lifecyclev1alpha1.ModelVersion) *batchv1.Job {
	GinkgoHelper()
	job := &batchv1.Job{}
	Eventually(func(g Gomega) {
		got := fetchMV(g, mv)
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: mv.Namespace, Name: evaluate.JobName(got)}, job)).To(Succeed())
	}).Should(Succeed())
	return job
}

func env(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

var _ = Describe("Independent evaluation", func() {
	dec := func(s string) *lifecyclev1alpha1.Decimal { d := lifecyclev1alpha1.Decimal(s); return &d }
	policy := &lifecyclev1alpha1.PromotionSpec{
		Requirements: []lifecyclev1alpha1.MetricRequirement{{Metric: "auc", Min: dec("0.85")}},
		Slices:       []lifecyclev1alpha1.SliceRequirement{{Metric: "selection_rate", By: "group", MinSlices: 2, MinRatio: dec("0.8")}},
	}

	It("judges what the evaluation Job measured, never what the trainer reported about its own model", func() {
		p := withEvaluation(newProduct(lifecyclev1alpha1.PhaseStrategy), policy)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		mv := newVersion(p.Name, "1.0.0", "auc", "0.99")
		mv.Spec.Artifact.Digest = "sha256:" + "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"
		Expect(k8sClient.Create(ctx, mv)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, mv)

		By("waiting for the evaluation, whatever the trainer claimed")
		job := evaluationJob(mv)
		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			g.Expect(got.Status.Eligible).To(BeFalse())
			eligible := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible)
			g.Expect(eligible.Reason).To(Equal("EvaluationPending"))
			g.Expect(eligible.Message).To(Equal("waiting for the independent evaluation, Job " + job.Name))
			g.Expect(got.Status.Evaluation.Phase).To(Equal(lifecyclev1alpha1.EvaluationRunning))
		}).Should(Succeed())
		Expect(metav1.IsControlledBy(job, mv)).To(BeTrue(), "the version owns its evaluation Job")
		Expect(*job.Spec.ActiveDeadlineSeconds).To(Equal(int64(600)), "the product's timeout is the Job's deadline")
		Expect(job.Labels).To(HaveKeyWithValue(evaluate.LabelEvaluation, "true"))
		Expect(env(job.Spec.Template.Spec.Containers[0])).To(And(
			HaveKeyWithValue("AIPM_MODEL_URI", "s3://models/"+p.Name+"/1.0.0"),
			HaveKeyWithValue("AIPM_MODEL_DIGEST", mv.Spec.Artifact.Digest),
			HaveKeyWithValue("AIPM_DATASET_URI", "s3://data/holdout/2026-12"),
			HaveKeyWithValue("AIPM_DATASET_DIGEST", "snapshot-7"),
			HaveKeyWithValue("AIPM_MODEL_VERSION", mv.Name),
		))
		Expect(job.Spec.Template.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()), "the pod is restricted as a retraining pod is")

		By("a low evaluated AUC keeps the version out, and the message says it was the evaluation")
		finishJobAs(job, "evaluator", `{"metrics": {"auc": 0.61}, "slices": [
			{"metric": "selection_rate", "slice": {"group": "a"}, "value": 0.3},
			{"metric": "selection_rate", "slice": {"group": "b"}, "value": 0.29}]}`)
		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			g.Expect(got.Status.Evaluation.Phase).To(Equal(lifecyclev1alpha1.EvaluationSucceeded))
			g.Expect(got.Status.Evaluation.Metrics).To(ContainElement(lifecyclev1alpha1.EvaluationMetric{Name: "auc", Value: "0.61"}))
			g.Expect(got.Status.Eligible).To(BeFalse())
			eligible := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible)
			g.Expect(eligible.Reason).To(Equal("PolicyNotMet"))
			g.Expect(eligible.Message).To(Equal("independent evaluation: auc is 0.61, below the floor 0.85"))
		}).Should(Succeed())
		Expect(fetchMV(Default, mv).Spec.Metrics).To(Equal([]lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: "0.99"}}),
			"the trainer's figures stay, for the record")
		Eventually(func() []string { return eventReasons(mv) }).Should(ContainElements("EvaluationStarted", "EvaluationSucceeded"))

		By("exactly one evaluation, however often the version is reconciled")
		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			got.Labels["touched"] = "yes"
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			var jobs batchv1.JobList
			g.Expect(k8sClient.List(ctx, &jobs, client.InNamespace(mv.Namespace), client.MatchingLabels{evaluate.LabelEvaluation: "true",
				lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
			g.Expect(jobs.Items).To(HaveLen(1))
		}, 2*time.Second).Should(Succeed())
	})

	It("names the slice that breaks the four-fifths rule, and admits a version that keeps it", func() {
		p := withEvaluation(newProduct(lifecyclev1alpha1.PhaseStrategy), policy)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		unfair := newVersion(p.Name, "1.0.0")
		fair := newVersion(p.Name, "1.1.0")
		for _, mv := range []*lifecyclev1alpha1.ModelVersion{unfair, fair} {
			Expect(k8sClient.Create(ctx, mv)).To(Succeed())
			DeferCleanup(k8sClient.Delete, ctx, mv)
		}
		finishJobAs(evaluationJob(unfair), "evaluator", `{"metrics": {"auc": 0.93}, "slices": [
			{"metric": "selection_rate", "slice": {"group": "under_30"}, "value": 0.31},
			{"metric": "selection_rate", "slice": {"group": "age_60_plus"}, "value": 0.19},
			{"metric": "selection_rate", "slice": {"group": "age_30_60"}, "value": 0.3}]}`)
		finishJobAs(evaluationJob(fair), "evaluator", `{"metrics": {"auc": 0.9}, "slices": [
			{"metric": "selection_rate", "slice": {"group": "under_30"}, "value": 0.3},
			{"metric": "selection_rate", "slice": {"group": "age_60_plus"}, "value": 0.27}]}`)
		Eventually(func(g Gomega) {
			got := fetchMV(g, unfair)
			g.Expect(got.Status.Eligible).To(BeFalse())
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible).Message).To(Equal(
				"independent evaluation: selection_rate ratio of slice group=age_60_plus (0.19) to slice group=under_30 (0.31) is 0.6129, below the least allowed 0.8"))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetchMV(g, fair)
			g.Expect(got.Status.Eligible).To(BeTrue())
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible).Message).To(Equal(
				"meets the promotion policy of product " + p.Name + " on its independent evaluation; spec.metrics are self-reported and not judged"))
		}).Should(Succeed())
	})

	It("leaves a version whose evaluation runs out of time not Eligible, with the Job's reason, and evaluates again once the Job is deleted", func() {
		p := withEvaluation(newProduct(lifecyclev1alpha1.PhaseStrategy), nil)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		mv := newVersion(p.Name, "1.0.0", "auc", "0.99")
		Expect(k8sClient.Create(ctx, mv)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, mv)
		job := evaluationJob(mv)
		now := metav1.Now()
		Eventually(func(g Gomega) {
			got := &batchv1.Job{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
			got.Status.StartTime = &now
			got.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline", LastTransitionTime: now},
				{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline", LastTransitionTime: now},
			}
			g.Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			g.Expect(got.Status.Evaluation.Phase).To(Equal(lifecyclev1alpha1.EvaluationFailed))
			g.Expect(got.Status.Eligible).To(BeFalse(), "without a policy, a failed evaluation still keeps the version out")
			eligible := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible)
			g.Expect(eligible.Reason).To(Equal("EvaluationFailed"))
			g.Expect(eligible.Message).To(Equal("evaluation Job " + job.Name + " failed: DeadlineExceeded: Job was active longer than specified deadline"))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(mv) }).Should(ContainElement("EvaluationFailed"))

		By("deleting the Job")
		Expect(k8sClient.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		Eventually(func(g Gomega) {
			got := &batchv1.Job{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
			g.Expect(got.UID).NotTo(Equal(job.UID), "a new Job of the same name")
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(fetchMV(g, mv).Status.Evaluation.Phase).To(Equal(lifecyclev1alpha1.EvaluationRunning))
		}).Should(Succeed())
	})

	It("refuses an evaluation pod the security policy does not allow, and says so", func() {
		p := withEvaluation(newProduct(lifecyclev1alpha1.PhaseStrategy), policy)
		p.Spec.Delivery.Evaluation.Template.Spec.Template.Spec.ServiceAccountName = "cluster-admin-sa"
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		mv := newVersion(p.Name, "1.0.0", "auc", "0.99")
		Expect(k8sClient.Create(ctx, mv)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, mv)
		Eventually(func(g Gomega) {
			got := fetchMV(g, mv)
			g.Expect(got.Status.Evaluation).NotTo(BeNil())
			g.Expect(got.Status.Evaluation.Reason).To(Equal("TemplateRefused"))
			g.Expect(got.Status.Evaluation.Message).To(ContainSubstring(`serviceAccountName "cluster-admin-sa"`))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionEligible).Reason).To(Equal("EvaluationFailed"))
		}).Should(Succeed())
		var jobs batchv1.JobList
		Expect(k8sClient.List(ctx, &jobs, client.InNamespace(mv.Namespace), client.MatchingLabels{lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
		Expect(jobs.Items).To(BeEmpty())
	})
})
