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

package retrainingrun

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

const goodResult = `{"artifact": {"uri": "s3://models/retrained/model.onnx", "format": "ONNX",
 "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
 "metrics": {"auc": 0.93, "demographic_parity_difference": 0.02},
 "dataset": {"uri": "s3://data/2026-11-23", "digest": "snapshot-7"}}`

// newNamespace gives a spec a namespace of its own, so that lists and
// Events of one spec never see another's.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rrun-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// trainerPod is the pod of a retraining template as a team writes it.
func trainerPod() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{{Name: "trainer", Image: "example.com/trainer:1"}},
	}}
}

// productRun is a run as the product reconciler makes it: the Job that
// retrain.Job renders from the product's template becomes the run's
// template, and the run is named like it.
func productRun(ns, product string, trigger retrain.Trigger) *lifecyclev1alpha1.RetrainingRun {
	p := &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: product, Namespace: ns},
		Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{Retraining: &lifecyclev1alpha1.RetrainingSpec{
			Template: &batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: trainerPod()}},
		}}},
	}
	parent := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: product + "-v1-0-0"},
		Spec: lifecyclev1alpha1.ModelVersionSpec{Artifact: lifecyclev1alpha1.Artifact{URI: "s3://models/" + product + "/1.0.0"}}}
	job, err := retrain.Job(p, retrain.Run{Name: retrain.JobName(product, trigger), Trigger: trigger, Parent: parent,
		TargetVersion: "1.0.1"}, policy)
	Expect(err).NotTo(HaveOccurred())
	run := &lifecyclev1alpha1.RetrainingRun{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name, Namespace: ns},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{
			Product:         lifecyclev1alpha1.LocalObjectName(product),
			Trigger:         lifecyclev1alpha1.RunTrigger{Kind: trigger.Kind, Key: trigger.Key, Reason: "a test asked"},
			TargetVersion:   "1.0.1",
			ParentVersion:   parent.Name,
			ResultContainer: retrain.ResultContainer(p, job.Spec.Template.Spec.Containers),
			Template: &batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: job.Labels, Annotations: job.Annotations},
				Spec:       job.Spec,
			},
		},
	}
	Expect(k8sClient.Create(ctx, run)).To(Succeed())
	return run
}

// handRun is a run written by hand, with pod as its Job's pod, as anyone
// allowed to create RetrainingRuns could write one.
func handRun(ns, name string, pod corev1.PodTemplateSpec) *lifecyclev1alpha1.RetrainingRun {
	run := &lifecyclev1alpha1.RetrainingRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{
			Product:         "churn",
			Trigger:         lifecyclev1alpha1.RunTrigger{Kind: lifecyclev1alpha1.TriggerManual, Key: name},
			TargetVersion:   "9.9.9",
			ResultContainer: "trainer",
			Template:        &batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: pod}},
		},
	}
	Expect(k8sClient.Create(ctx, run)).To(Succeed())
	return run
}

func fetchRun(g Gomega, run *lifecyclev1alpha1.RetrainingRun) *lifecyclev1alpha1.RetrainingRun {
	got := &lifecyclev1alpha1.RetrainingRun{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(run), got)).To(Succeed())
	return got
}

func jobsIn(g Gomega, ns string) []batchv1.Job {
	var list batchv1.JobList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

func versionsIn(g Gomega, ns string) []lifecyclev1alpha1.ModelVersion {
	var list lifecyclev1alpha1.ModelVersionList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

// runningJob waits for the run to be Running with its Job, and returns the
// Job.
func runningJob(run *lifecyclev1alpha1.RetrainingRun) *batchv1.Job {
	job := &batchv1.Job{}
	Eventually(func(g Gomega) {
		got := fetchRun(g, run)
		g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.RunRunning))
		g.Expect(got.Status.Workload).To(Equal(&lifecyclev1alpha1.WorkloadRef{Kind: "Job", Name: run.Name}))
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(run), job)).To(Succeed())
	}).Should(Succeed())
	return job
}

// succeedPod does what the Job controller and the kubelet would: a pod of
// the Job that succeeded with message as its trainer's termination message.
func succeedPod(job *batchv1.Job, message string) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-pod", Namespace: job.Namespace,
			Labels: map[string]string{"batch.kubernetes.io/job-name": job.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "trainer", Image: "example.com/trainer:1"}}},
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "trainer", Image: "example.com/trainer:1", ImageID: "example.com/trainer@sha256:1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", Message: message}},
	}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
}

// completeJob marks the Job complete as the Job controller would, with the
// conditions the API server requires of a complete Job.
func completeJob(job *batchv1.Job) metav1.Time {
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	Eventually(func(g Gomega) {
		got := &batchv1.Job{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		got.Status.StartTime = &now
		got.Status.CompletionTime = &now
		got.Status.Succeeded = 1
		got.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached,
				LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached,
				LastTransitionTime: now},
		}
		g.Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
	return now
}

// failJob marks the Job failed as the Job controller would after its
// backoff limit.
func failJob(job *batchv1.Job) {
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	Eventually(func(g Gomega) {
		got := &batchv1.Job{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		got.Status.StartTime = &now
		got.Status.Failed = 1
		got.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded,
				Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded,
				Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}
		g.Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
}

// eventsOf are the Events recorded about obj.
func eventsOf(g Gomega, obj client.Object) []eventsv1.Event {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() {
			out = append(out, e)
		}
	}
	return out
}

func eventReasons(g Gomega, obj client.Object) []string {
	var out []string
	for _, e := range eventsOf(g, obj) {
		out = append(out, e.Type+"/"+e.Reason)
	}
	return out
}

func kstatusOf(g Gomega, obj client.Object) status.Status {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	g.Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: m})
	g.Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// runsTotal is the operator's count of finished runs of product with
// result.
func runsTotal(ns, product, result string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "aipm_retraining_runs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["namespace"] == ns && l["product"] == product && l["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func condition(run *lifecyclev1alpha1.RetrainingRun, typ string) *metav1.Condition {
	return meta.FindStatusCondition(run.Status.Conditions, typ)
}

// expectFailed asserts what a person sees of a failed run: the phase, the
// reason on every condition, Stalled, and kstatus's Failed.
func expectFailed(g Gomega, run *lifecyclev1alpha1.RetrainingRun, reason string) {
	g.Expect(run.Status.Phase).To(Equal(lifecyclev1alpha1.RunFailed))
	g.Expect(run.Status.Reason).To(Equal(reason))
	g.Expect(run.Status.CompletionTime).NotTo(BeNil())
	g.Expect(run.Status.ObservedGeneration).To(Equal(run.Generation))
	for typ, want := range map[string]metav1.ConditionStatus{
		lifecyclev1alpha1.ConditionReady:     metav1.ConditionFalse,
		lifecyclev1alpha1.ConditionSucceeded: metav1.ConditionFalse,
		lifecyclev1alpha1.ConditionStalled:   metav1.ConditionTrue,
	} {
		c := condition(run, typ)
		g.Expect(c).NotTo(BeNil(), typ)
		g.Expect(c.Status).To(Equal(want), typ)
		g.Expect(c.Reason).To(Equal(reason), typ)
	}
	g.Expect(condition(run, lifecyclev1alpha1.ConditionReconciling)).To(BeNil())
	g.Expect(kstatusOf(g, run)).To(Equal(status.FailedStatus))
}

var _ = Describe("RetrainingRun", func() {
	It("creates its Job, and registers the version a successful Job reports", func() {
		ns := newNamespace()
		run := productRun(ns, "churn", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1764000000"})

		By("the Job: owned by the run, labelled as the operator's, from the run's template")
		job := runningJob(run)
		got := &lifecyclev1alpha1.RetrainingRun{}
		Eventually(func(g Gomega) {
			got = fetchRun(g, run)
			g.Expect(got.Status.StartTime).NotTo(BeNil())
			g.Expect(condition(got, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(condition(got, lifecyclev1alpha1.ConditionReady).Reason).To(Equal(lifecyclev1alpha1.ReasonRunRunning))
			g.Expect(condition(got, lifecyclev1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(kstatusOf(g, got)).To(Equal(status.InProgressStatus))
		}).Should(Succeed())
		Expect(metav1.IsControlledBy(job, got)).To(BeTrue())
		Expect(job.Labels).To(HaveKeyWithValue(serving.LabelManagedBy, serving.ManagedBy))
		Expect(job.Labels).To(HaveKeyWithValue(lifecyclev1alpha1.LabelProduct, "churn"))
		Expect(job.Annotations).To(HaveKeyWithValue(retrain.AnnotationTargetVersion, "1.0.1"))
		env := map[string]string{}
		for _, e := range job.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		Expect(env).To(HaveKeyWithValue(retrain.EnvTargetVersion, "1.0.1"))
		Expect(env).To(HaveKeyWithValue(retrain.EnvParentVersion, "churn-v1-0-0"))
		Expect(job.Spec.Template.Spec.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
		Eventually(func(g Gomega) []string { return eventReasons(g, run) }).Should(ContainElement("Normal/RetrainingStarted"))

		By("the Job completing with a valid result")
		succeedPod(job, goodResult)
		done := completeJob(job)
		Eventually(func(g Gomega) {
			got = fetchRun(g, run)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded))
		}).Should(Succeed())
		Expect(got.Status.Reason).To(Equal(lifecyclev1alpha1.ReasonRegistered))
		Expect(got.Status.ModelVersion).To(Equal("churn-v1-0-1"))
		Expect(got.Status.CompletionTime.Equal(&done)).To(BeTrue(), "completionTime %v, want the Job's %v", got.Status.CompletionTime, done)
		Expect(got.Status.Result).NotTo(BeNil())
		Expect(got.Status.Result.Artifact.URI).To(Equal("s3://models/retrained/model.onnx"))
		Expect(got.Status.Result.Metrics).To(Equal([]lifecyclev1alpha1.EvaluationMetric{
			{Name: "auc", Value: "0.93"}, {Name: "demographic_parity_difference", Value: "0.02"}}))
		Expect(got.Status.Result.Dataset).To(Equal(&lifecyclev1alpha1.Dataset{URI: "s3://data/2026-11-23", Digest: "snapshot-7"}))
		Expect(condition(got, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		Expect(condition(got, lifecyclev1alpha1.ConditionReady).Reason).To(Equal(lifecyclev1alpha1.ReasonRegistered))
		Expect(condition(got, lifecyclev1alpha1.ConditionSucceeded).Status).To(Equal(metav1.ConditionTrue))
		Expect(condition(got, lifecyclev1alpha1.ConditionReconciling)).To(BeNil())
		Expect(condition(got, lifecyclev1alpha1.ConditionStalled)).To(BeNil())
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(kstatusOf(Default, got)).To(Equal(status.CurrentStatus))

		By("the ModelVersion, with lineage and no owner")
		mv := &lifecyclev1alpha1.ModelVersion{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "churn-v1-0-1"}, mv)).To(Succeed())
		Expect(mv.Labels).To(HaveKeyWithValue(lifecyclev1alpha1.LabelProduct, "churn"))
		Expect(mv.OwnerReferences).To(BeEmpty())
		Expect(mv.Spec.Product).To(Equal(lifecyclev1alpha1.LocalObjectName("churn")))
		Expect(mv.Spec.Version).To(Equal("1.0.1"))
		Expect(mv.Spec.Artifact.Format).To(Equal(lifecyclev1alpha1.ModelFormat("ONNX")))
		Expect(mv.Spec.Metrics).To(Equal(got.Status.Result.Metrics))
		Expect(mv.Spec.Lineage).To(Equal(&lifecyclev1alpha1.Lineage{Trigger: lifecyclev1alpha1.TriggerDrift, TrainingJob: job.Name,
			ParentVersion: "churn-v1-0-0", Dataset: &lifecyclev1alpha1.Dataset{URI: "s3://data/2026-11-23", Digest: "snapshot-7"}}))
		Eventually(func(g Gomega) []string { return eventReasons(g, run) }).Should(ContainElement("Normal/RetrainingSucceeded"))
		Expect(runsTotal(ns, "churn", "Succeeded")).To(Equal(1.0))
		Consistently(func(g Gomega) {
			g.Expect(eventReasons(g, run)).NotTo(ContainElement(HavePrefix("Warning/")))
		}, 2*time.Second).Should(Succeed())
	})

	It("fails when its Job fails, and registers nothing", func() {
		ns := newNamespace()
		run := productRun(ns, "fraud", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerSchedule, Key: "1764000000"})
		job := runningJob(run)
		failJob(job)
		Eventually(func(g Gomega) {
			got := fetchRun(g, run)
			expectFailed(g, got, lifecyclev1alpha1.ReasonWorkloadFailed)
			g.Expect(got.Status.Message).To(ContainSubstring("BackoffLimitExceeded: Job has reached the specified backoff limit"))
			g.Expect(eventReasons(g, run)).To(ContainElement("Warning/RetrainingFailed"))
		}).Should(Succeed())
		Expect(versionsIn(Default, ns)).To(BeEmpty())
		Expect(runsTotal(ns, "fraud", "Failed")).To(Equal(1.0))
		Expect(eventsOf(Default, run)).To(ContainElement(HaveField("Note", ContainSubstring("WorkloadFailed"))))
	})

	It("fails when the result does not follow the contract", func() {
		ns := newNamespace()
		run := productRun(ns, "churn", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "ticket-42"})
		job := runningJob(run)
		succeedPod(job, `{"artifact": {"uri": "not a uri"}}`)
		completeJob(job)
		Eventually(func(g Gomega) {
			got := fetchRun(g, run)
			expectFailed(g, got, lifecyclev1alpha1.ReasonResultUnusable)
			g.Expect(got.Status.Message).To(ContainSubstring(`artifact.uri "not a uri" is not a model URI`))
			g.Expect(eventReasons(g, run)).To(ContainElement("Warning/RetrainingFailed"))
		}).Should(Succeed())
		Expect(versionsIn(Default, ns)).To(BeEmpty())
	})

	It("refuses a hand-written template that widens what a trainer may do, and creates no Job", func() {
		ns := newNamespace()
		privileged := trainerPod()
		privileged.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		admin := trainerPod()
		admin.Spec.ServiceAccountName = "namespace-admin"
		runs := map[string]*lifecyclev1alpha1.RetrainingRun{
			"privileged":                           handRun(ns, "by-hand-privileged", privileged),
			`serviceAccountName "namespace-admin"`: handRun(ns, "by-hand-admin", admin),
		}
		for says, run := range runs {
			Eventually(func(g Gomega) {
				got := fetchRun(g, run)
				expectFailed(g, got, lifecyclev1alpha1.ReasonTemplateRefused)
				g.Expect(got.Status.Message).To(ContainSubstring(says))
				g.Expect(got.Status.Workload).To(BeNil())
				g.Expect(got.Status.StartTime).To(BeNil())
				g.Expect(eventReasons(g, run)).To(ContainElement("Warning/RetrainingRefused"))
			}).Should(Succeed())
		}
		Consistently(func(g Gomega) { g.Expect(jobsIn(g, ns)).To(BeEmpty()) }, 3*time.Second).Should(Succeed())
	})

	It("fails when a ModelVersion of the target name was made by someone else", func() {
		ns := newNamespace()
		taken := &lifecyclev1alpha1.ModelVersion{
			ObjectMeta: metav1.ObjectMeta{Name: "churn-v1-0-1", Namespace: ns},
			Spec: lifecyclev1alpha1.ModelVersionSpec{Product: "churn", Version: "1.0.1",
				Artifact: lifecyclev1alpha1.Artifact{URI: "s3://models/by-hand/model.onnx"},
				Lineage:  &lifecyclev1alpha1.Lineage{Trigger: lifecyclev1alpha1.TriggerExternal, TrainingJob: "pipeline-7"}},
		}
		Expect(k8sClient.Create(ctx, taken)).To(Succeed())
		run := productRun(ns, "churn", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "ticket-43"})
		job := runningJob(run)
		succeedPod(job, goodResult)
		completeJob(job)
		Eventually(func(g Gomega) {
			got := fetchRun(g, run)
			expectFailed(g, got, lifecyclev1alpha1.ReasonVersionTaken)
			g.Expect(got.Status.Message).To(ContainSubstring("ModelVersion churn-v1-0-1 already exists and was not produced by Job " + job.Name))
			g.Expect(got.Status.ModelVersion).To(BeEmpty())
			// What the trainer reported stays on record, for whoever sorts
			// out the two versions.
			g.Expect(got.Status.Result).NotTo(BeNil())
		}).Should(Succeed())
		mv := &lifecyclev1alpha1.ModelVersion{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(taken), mv)).To(Succeed())
		Expect(mv.Spec.Artifact.URI).To(Equal("s3://models/by-hand/model.onnx"))
		Expect(mv.Spec.Lineage.TrainingJob).To(Equal("pipeline-7"))
	})

	It("creates nothing twice across a restart, and ends the same", func() {
		ns := newNamespace()
		run := productRun(ns, "restart", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1764000001"})
		job := runningJob(run)
		Eventually(func(g Gomega) []string { return eventReasons(g, run) }).Should(ContainElement("Normal/RetrainingStarted"))

		By("a new operator process, with nothing in memory")
		stopManager()
		startManager()
		Consistently(func(g Gomega) {
			jobs := jobsIn(g, ns)
			g.Expect(jobs).To(HaveLen(1))
			g.Expect(jobs[0].UID).To(Equal(job.UID))
			g.Expect(fetchRun(g, run).Status.Phase).To(Equal(lifecyclev1alpha1.RunRunning))
		}, 3*time.Second).Should(Succeed())

		succeedPod(job, goodResult)
		completeJob(job)
		Eventually(func(g Gomega) {
			got := fetchRun(g, run)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded))
			g.Expect(got.Status.ModelVersion).To(Equal("restart-v1-0-1"))
			g.Expect(eventReasons(g, run)).To(ContainElement("Normal/RetrainingSucceeded"))
		}).Should(Succeed())

		By("another restart after the end: nothing new")
		stopManager()
		startManager()
		Consistently(func(g Gomega) {
			g.Expect(jobsIn(g, ns)).To(HaveLen(1))
			g.Expect(versionsIn(g, ns)).To(HaveLen(1))
			g.Expect(fetchRun(g, run).Status.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded))
		}, 3*time.Second).Should(Succeed())
		var started []eventsv1.Event
		for _, e := range eventsOf(Default, run) {
			if e.Reason == EventStarted {
				started = append(started, e)
			}
		}
		Expect(started).To(HaveLen(1))
		Expect(started[0].Series).To(BeNil(), "RetrainingStarted was told more than once")
		Expect(runsTotal(ns, "restart", "Succeeded")).To(Equal(1.0))
	})

	It("owns its Job, so that deleting the run deletes the Job", func() {
		ns := newNamespace()
		run := productRun(ns, "owned", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "ticket-44"})
		job := runningJob(run)
		got := fetchRun(Default, run)
		// envtest runs no garbage collector; the owner reference is what
		// the cluster's acts on.
		Expect(job.OwnerReferences).To(ConsistOf(metav1.OwnerReference{
			APIVersion: lifecyclev1alpha1.GroupVersion.String(), Kind: "RetrainingRun", Name: run.Name, UID: got.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}))

		Expect(k8sClient.Delete(ctx, got)).To(Succeed())
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(run), &lifecyclev1alpha1.RetrainingRun{})
			g.Expect(client.IgnoreNotFound(err)).To(Succeed())
			g.Expect(err).To(HaveOccurred())
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(jobsIn(g, ns)).To(HaveLen(1)) }, 2*time.Second).Should(Succeed())
	})

	It("fails when its Job is deleted before it finishes", func() {
		ns := newNamespace()
		run := productRun(ns, "gone", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "ticket-45"})
		job := runningJob(run)
		Expect(k8sClient.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		Eventually(func(g Gomega) {
			got := fetchRun(g, run)
			expectFailed(g, got, lifecyclev1alpha1.ReasonWorkloadDeleted)
			g.Expect(eventReasons(g, run)).To(ContainElement("Warning/RetrainingFailed"))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(jobsIn(g, ns)).To(BeEmpty()) }, 2*time.Second).Should(Succeed())
	})
})
