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

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

// retrainingProduct serves v1 with one drift check on it and retrains on
// drift, with no cooldown so that tests need not wait.
func retrainingProduct() *lifecyclev1alpha1.AIProduct {
	p := deliveryProduct("v1")
	p.Spec.Delivery.Monitoring = &lifecyclev1alpha1.MonitoringSpec{
		Interval: metav1.Duration{Duration: 5 * time.Second},
		Drift: []lifecyclev1alpha1.DriftCheck{{Name: "amount-psi", Feature: "amount", Query: "psi{product=$product, version=$version}",
			Threshold: "0.2", Statistic: lifecyclev1alpha1.StatisticPSI, For: metav1.Duration{Duration: 4 * time.Second}}},
	}
	p.Spec.Delivery.Retraining = &lifecyclev1alpha1.RetrainingSpec{
		OnDrift:                    true,
		ConcurrencyPolicy:          lifecyclev1alpha1.ConcurrencyForbid,
		SuccessfulJobsHistoryLimit: 3, FailedJobsHistoryLimit: 1,
		Template: &batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "trainer", Image: "example.com/trainer:1"}},
		}}}},
	}
	return p
}

func productJobs(g Gomega, p *lifecyclev1alpha1.AIProduct) []batchv1.Job {
	var list batchv1.JobList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingLabels{lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
	return list.Items
}

func productVersions(g Gomega, p *lifecyclev1alpha1.AIProduct) []lifecyclev1alpha1.ModelVersion {
	var list lifecyclev1alpha1.ModelVersionList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(p.Namespace))).To(Succeed())
	var out []lifecyclev1alpha1.ModelVersion
	for _, mv := range list.Items {
		if string(mv.Spec.Product) == p.Name {
			out = append(out, mv)
		}
	}
	return out
}

// finishJob does what the Job controller and the kubelet would: a pod of
// the Job that succeeded with message as its trainer's termination message,
// and the Job marked complete.
func finishJob(job *batchv1.Job, message string) { finishJobAs(job, "trainer", message) }

// finishJobAs is finishJob with the result in container's termination
// message.
func finishJobAs(job *batchv1.Job, container, message string) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-pod", Namespace: job.Namespace,
			Labels: map[string]string{"batch.kubernetes.io/job-name": job.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: container, Image: "example.com/trainer:1"}}},
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, pod) })
	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
		Name: container, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Message: message}},
	}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())

	now := metav1.Now()
	Eventually(func(g Gomega) {
		got := &batchv1.Job{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		got.Status.StartTime = &now
		got.Status.CompletionTime = &now
		got.Status.Succeeded = 1
		got.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		g.Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
}

const goodResult = `{"artifact": {"uri": "s3://models/retrained/model.onnx", "format": "ONNX",
 "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
 "metrics": {"auc": 0.93, "demographic_parity_difference": 0.02},
 "dataset": {"uri": "s3://data/2026-11-23", "digest": "snapshot-7",
             "window": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-23T06:30:00.5Z"}}}`

var _ = Describe("Drift and retraining", func() {
	It("turns a sustained drift into exactly one Job, and its result into one ModelVersion with lineage, across a restart", func() {
		p := retrainingProduct()
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		psi := fmt.Sprintf(`psi{product=%q, version="v1"}`, p.Name)
		fakeProm.Set(psi, 0.05)
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(got.Status.DriftState).To(Equal("None"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDrifted).Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())

		By("a breach shorter than for does not count")
		fakeProm.Set(psi, 0.35)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.DriftState).To(Equal("Breached"))
			g.Expect(got.Status.Drift[0].BreachedSince).NotTo(BeNil())
			g.Expect(productJobs(g, p)).To(BeEmpty())
		}).Should(Succeed())

		By("the breach lasting its for: Drifted, and one Job")
		var job batchv1.Job
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.DriftState).To(Equal("Drifted"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDrifted).Status).To(Equal(metav1.ConditionTrue))
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
			g.Expect(got.Status.Retraining.LastRun).NotTo(BeNil())
			g.Expect(got.Status.Retraining.LastRun.Name).To(Equal(job.Name), "the run and its Job share the trigger's name")
			g.Expect(got.Status.Retraining.LastRun.Trigger).To(Equal(lifecyclev1alpha1.TriggerDrift))
		}, 30*time.Second).Should(Succeed())
		env := map[string]string{}
		for _, e := range job.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		Expect(env).To(HaveKeyWithValue(retrain.EnvTrigger, "Drift"))
		Expect(env).To(HaveKeyWithValue(retrain.EnvParentVersion, "v1"))
		Expect(env).To(HaveKeyWithValue(retrain.EnvParentModelURI, "s3://models/"+p.Name+"/1.0.0"))
		Expect(env).To(HaveKeyWithValue(retrain.EnvTargetVersion, "1.0.1"))
		run := runOf(p, job.Name)
		Expect(metav1.IsControlledBy(&job, run)).To(BeTrue(), "the run owns its Job")
		Expect(metav1.IsControlledBy(run, fetchProduct(p))).To(BeTrue(), "the product owns its runs")
		Expect(run.Spec.Trigger.Kind).To(Equal(lifecyclev1alpha1.TriggerDrift))
		Expect(run.Spec.Trigger.Reason).To(ContainSubstring("sustained drift: amount-psi at 0.35 (threshold 0.2)"))

		By("a restart while the Job runs creates nothing twice")
		restartManager()
		Consistently(func(g Gomega) {
			g.Expect(productJobs(g, p)).To(HaveLen(1))
		}, 7*time.Second, time.Second).Should(Succeed())

		By("the Job succeeding with a result: one ModelVersion with lineage")
		finishJob(&job, goodResult)
		want := p.Name + "-v1-0-1"
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Retraining.LastRun.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded))
			g.Expect(got.Status.Retraining.LastRun.ModelVersion).To(Equal(want))
			g.Expect(got.Status.Retraining.Active).To(BeEmpty())
			mv := &lifecyclev1alpha1.ModelVersion{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: want}, mv)).To(Succeed())
			g.Expect(mv.Spec.Version).To(Equal("1.0.1"))
			g.Expect(mv.Spec.Artifact.URI).To(Equal("s3://models/retrained/model.onnx"))
			g.Expect(mv.Spec.Lineage.Trigger).To(Equal(lifecyclev1alpha1.TriggerDrift))
			g.Expect(mv.Spec.Lineage.TrainingJob).To(Equal(job.Name))
			g.Expect(mv.Spec.Lineage.ParentVersion).To(Equal("v1"))
			g.Expect(mv.Spec.Lineage.Dataset.URI).To(Equal("s3://data/2026-11-23"))
			g.Expect(mv.Spec.Lineage.Dataset.Window).NotTo(BeNil(), "the training window a histogram drift check can compare with")
			g.Expect(mv.Spec.Lineage.Dataset.Window.End.UTC()).To(Equal(time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC)))
			g.Expect(mv.Spec.Metrics).To(ContainElement(lifecyclev1alpha1.EvaluationMetric{Name: "auc", Value: "0.93"}))
			g.Expect(mv.Status.Stage).To(Equal(lifecyclev1alpha1.StageCandidate))
		}).Should(Succeed())
		DeferCleanup(func() {
			_ = k8sClient.Delete(ctx, &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: want, Namespace: p.Namespace}})
		})

		By("another restart, with the drift still sustained: the episode was answered, nothing new")
		restartManager()
		Consistently(func(g Gomega) {
			g.Expect(productJobs(g, p)).To(HaveLen(1))
			g.Expect(productVersions(g, p)).To(HaveLen(2))
		}, 7*time.Second, time.Second).Should(Succeed())
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("RetrainingTriggered"))
		Eventually(func() []string { return eventReasons(runOf(p, job.Name)) }).Should(ContainElements("RetrainingStarted", "RetrainingSucceeded"))
	})

	It("fails a run whose result is malformed, registers nothing, and waits for the cooldown", func() {
		p := retrainingProduct()
		p.Spec.Delivery.Retraining.OnDrift = false
		p.Spec.Delivery.Retraining.Schedule = "0 3 * * *"
		p.Spec.Delivery.Retraining.Cooldown = metav1.Duration{Duration: time.Hour}
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(got.Status.Retraining).NotTo(BeNil())
			g.Expect(got.Status.Retraining.NextScheduleTime).NotTo(BeNil())
		}).Should(Succeed())

		By("a manual request")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "ticket-42")
		var job batchv1.Job
		Eventually(func(g Gomega) {
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
			got := fetch(g, p)
			g.Expect(got.Annotations).NotTo(HaveKey(lifecyclev1alpha1.AnnotationRetrain))
			g.Expect(got.Status.LastRequest).NotTo(BeNil())
			g.Expect(got.Status.LastRequest.Action).To(Equal("Retrain"))
			g.Expect(got.Status.Retraining.LastRun.Trigger).To(Equal(lifecyclev1alpha1.TriggerManual))
		}).Should(Succeed())
		Expect(job.Name).To(Equal(retrain.JobName(p.Name, retrain.Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "ticket-42"})))

		finishJob(&job, `{"artifact": {"uri": "not a uri"}}`)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Retraining.LastRun.Phase).To(Equal(lifecyclev1alpha1.RunFailed))
			g.Expect(runOf(p, job.Name).Status.Message).To(ContainSubstring(`artifact.uri "not a uri" is not a model URI`))
			g.Expect(productVersions(g, p)).To(HaveLen(1))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(runOf(p, job.Name)) }).Should(ContainElement("RetrainingFailed"))

		By("a second request during the cooldown waits")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "ticket-43")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Retraining.Pending).To(ContainSubstring("Manual trigger waits for the cooldown until"))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(productJobs(g, p)).To(HaveLen(1)) }, 3*time.Second).Should(Succeed())
	})

	It("starts one run per request value and refuses a value used before, even when its run is kept", func() {
		p := retrainingProduct()
		p.Spec.Delivery.Retraining.OnDrift = false
		p.Spec.Delivery.Retraining.Schedule = "0 3 * * *"
		p.Spec.Delivery.Retraining.Cooldown = metav1.Duration{Duration: time.Second}
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())

		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "now")
		var job batchv1.Job
		Eventually(func(g Gomega) {
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
		}).Should(Succeed())
		finishJob(&job, goodResult)
		Eventually(func(g Gomega) {
			g.Expect(fetch(g, p).Status.Retraining.LastRun.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded))
		}).Should(Succeed())

		By("the same value again, while the finished run and its Job are kept")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "now")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Annotations).NotTo(HaveKey(lifecyclev1alpha1.AnnotationRetrain))
			g.Expect(got.Status.LastRequest).NotTo(BeNil())
			g.Expect(got.Status.LastRequest.Result).To(ContainSubstring(`refused: value "now" already started RetrainingRun ` + job.Name))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("RetrainingRequestRefused"))
		Consistently(func(g Gomega) { g.Expect(productJobs(g, p)).To(HaveLen(1)) }, 2*time.Second).Should(Succeed())

		By("a new value starts a new run")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "again")
		Eventually(func(g Gomega) {
			g.Expect(productJobs(g, p)).To(HaveLen(2))
			got := fetch(g, p)
			g.Expect(got.Status.LastRequest).NotTo(BeNil())
			g.Expect(got.Status.LastRequest.Result).To(HavePrefix("started RetrainingRun"))
			run := runOf(p, got.Status.Retraining.LastRun.Name)
			g.Expect(run.Spec.Trigger.Key).To(Equal("again"))
		}).Should(Succeed())
	})

	It("closes the loop: drift, retraining, a new version, canary, production", func() {
		p := retrainingProduct()
		p.Spec.Delivery.ModelVersion = lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionLatestEligible}
		p.Spec.Delivery.Rollout = &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{
			{SetWeight: ptr.To[int32](50)},
			{Analysis: &lifecyclev1alpha1.AnalysisSpec{Interval: metav1.Duration{Duration: time.Second}, Count: 1,
				Metrics: []lifecyclev1alpha1.MetricCheck{{Name: "error-rate", Query: "errors{version=$version}", Threshold: "0.01", Direction: lifecyclev1alpha1.AtMost}}}},
		}}
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		psi := fmt.Sprintf(`psi{product=%q, version="v1"}`, p.Name)
		fakeProm.Set(psi, 0.9)
		var job batchv1.Job
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
		}, 30*time.Second).Should(Succeed())

		next := p.Name + "-v1-0-1"
		fakeProm.Set(fmt.Sprintf(`errors{version=%q}`, next), 0.001)
		finishJob(&job, goodResult)
		DeferCleanup(func() {
			_ = k8sClient.Delete(ctx, &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: next, Namespace: p.Namespace}})
		})
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal(next))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
			mv := &lifecyclev1alpha1.ModelVersion{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: next}, mv)).To(Succeed())
			g.Expect(mv.Status.Stage).To(Equal(lifecyclev1alpha1.StageProduction))
		}, 30*time.Second).Should(Succeed())
	})

	It("reads drift without data as Unknown, never a breach", func() {
		p := retrainingProduct()
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.DriftState).To(Equal("Unknown"))
			g.Expect(got.Status.Drift[0].Message).To(Equal("no data"))
			c := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDrifted)
			g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(productJobs(g, p)).To(BeEmpty()) }, 6*time.Second).Should(Succeed())
	})
})

// runOf reads the product's RetrainingRun name.
func runOf(p *lifecyclev1alpha1.AIProduct, name string) *lifecyclev1alpha1.RetrainingRun {
	run := &lifecyclev1alpha1.RetrainingRun{}
	ExpectWithOffset(1, k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, run)).To(Succeed())
	return run
}

func fetchProduct(p *lifecyclev1alpha1.AIProduct) *lifecyclev1alpha1.AIProduct {
	got := &lifecyclev1alpha1.AIProduct{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
	return got
}
