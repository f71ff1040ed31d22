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
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	trainerv1alpha1 "github.com/kubeflow/trainer/v2/pkg/apis/trainer/v1alpha1"
	rayv1 "github.com/ray-project/kuberay/ray-operator/apis/ray/v1"
	jobsetv1alpha2 "sigs.k8s.io/jobset/api/jobset/v1alpha2"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/testenv"
)

// These specs run the engines' real CRDs, from their Go modules, with no
// engine controller: the spec plays the Trainer, JobSet and KubeRay
// controllers' part (a JobSet, a Job and pods, the status they would
// write). The e2e suite runs the real controllers.

// engineRun is a run as the product reconciler makes it for an engine.
func engineRun(ns, product string, b lifecyclev1alpha1.TrainingBackend, spec string) *lifecyclev1alpha1.RetrainingRun {
	trigger := retrain.Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1764000000"}
	rr := retrain.Run{Name: retrain.JobName(product, trigger), Trigger: trigger, TargetVersion: "1.0.1"}
	p := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: product, Namespace: ns}}
	res, err := backend.Resolve(b, &lifecyclev1alpha1.WorkloadTemplate{Spec: runtime.RawExtension{Raw: []byte(spec)}},
		retrain.Labels(product, trigger), retrain.Annotations(product, rr),
		func(result string) []corev1.EnvVar { return retrain.Env(p, rr, result) }, "", "", policy)
	Expect(err).NotTo(HaveOccurred())
	run := &lifecyclev1alpha1.RetrainingRun{
		ObjectMeta: metav1.ObjectMeta{Name: rr.Name, Namespace: ns},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{
			Product:         lifecyclev1alpha1.LocalObjectName(product),
			Trigger:         lifecyclev1alpha1.RunTrigger{Kind: trigger.Kind, Key: trigger.Key},
			Backend:         b,
			TargetVersion:   "1.0.1",
			ResultContainer: res.ResultContainer,
			Workload:        res.Workload,
		},
	}
	Expect(k8sClient.Create(ctx, run)).To(Succeed())
	return run
}

// controlledBy is the controller reference of owner, of kind gvk.
func controlledBy(owner client.Object, apiVersion, kind string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
}

// indexedJob plays the JobSet controller: the first Job of a replicated
// job, controlled by owner, with one succeeded pod per message, the i-th
// of completion index i, as the Job controller and kubelet would leave
// them.
func indexedJob(owner client.Object, ownerAPI, ownerKind, name, container string, messages ...string) *batchv1.Job {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: owner.GetNamespace(), OwnerReferences: controlledBy(owner, ownerAPI, ownerKind)},
		Spec: batchv1.JobSpec{CompletionMode: ptr.To(batchv1.IndexedCompletion), Completions: ptr.To(int32(len(messages))),
			Parallelism: ptr.To(int32(len(messages))), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: container, Image: "example.com/trainer:1"}}}}},
	}
	Expect(k8sClient.Create(ctx, job)).To(Succeed())
	for i, msg := range messages {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d-pod", name, i), Namespace: job.Namespace,
				Labels:          map[string]string{retrain.JobNameLabel: name, retrain.CompletionIndexLabel: fmt.Sprint(i)},
				OwnerReferences: controlledBy(job, "batch/v1", "Job")},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: container, Image: "example.com/trainer:1"}}},
		}
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
			Name: container, Image: "example.com/trainer:1", ImageID: "example.com/trainer@sha256:1",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", Message: msg}},
		}}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	}
	return job
}

// hardenedRuntime is a ClusterTrainingRuntime whose node job runs under
// the restricted Pod Security Standard.
func hardenedRuntime(name string, privileged bool) *trainerv1alpha1.ClusterTrainingRuntime {
	return &trainerv1alpha1.ClusterTrainingRuntime{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"trainer.kubeflow.org/framework": "torch"}},
		Spec: trainerv1alpha1.TrainingRuntimeSpec{
			MLPolicy: &trainerv1alpha1.MLPolicy{NumNodes: ptr.To(int32(1))},
			Template: trainerv1alpha1.JobSetTemplateSpec{Spec: jobsetv1alpha2.JobSetSpec{ReplicatedJobs: []jobsetv1alpha2.ReplicatedJob{{
				Name: backend.TrainerNode, Replicas: 1,
				Template: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{Name: backend.TrainerNode, Image: "example.com/torch:1", SecurityContext: &corev1.SecurityContext{
						Privileged: ptr.To(privileged), AllowPrivilegeEscalation: ptr.To(privileged), ReadOnlyRootFilesystem: ptr.To(true),
						Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
				}}}},
			}}}},
		},
	}
}

func expectPending(run *lifecyclev1alpha1.RetrainingRun, says string) {
	Eventually(func(g Gomega) {
		got := fetchRun(g, run)
		g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.RunPending))
		g.Expect(got.Status.Reason).To(Equal(lifecyclev1alpha1.ReasonBackendUnavailable))
		g.Expect(got.Status.Message).To(ContainSubstring(says))
		c := condition(got, lifecyclev1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(lifecyclev1alpha1.ReasonBackendUnavailable))
		g.Expect(condition(got, lifecyclev1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())
	Eventually(func(g Gomega) []string { return eventReasons(g, run) }).Should(ContainElement("Warning/BackendUnavailable"))
}

// registered waits for the run to succeed and returns its ModelVersion.
func registered(run *lifecyclev1alpha1.RetrainingRun) *lifecyclev1alpha1.ModelVersion {
	Eventually(func(g Gomega) {
		got := fetchRun(g, run)
		g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded), "%s: %s", got.Status.Reason, got.Status.Message)
	}).Should(Succeed())
	mv := &lifecyclev1alpha1.ModelVersion{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: fetchRun(Default, run).Status.ModelVersion}, mv)).To(Succeed())
	return mv
}

var _ = Describe("RetrainingRun on the training engines", func() {
	It("waits for a TrainJob's runtime, then trains on it and registers what rank 0 reports", func() {
		ns := newNamespace()
		rt := "torch-" + ns
		run := engineRun(ns, "churn", lifecyclev1alpha1.BackendTrainJob,
			`{"runtimeRef":{"name":"`+rt+`"},"trainer":{"image":"example.com/churn-trainer:2","numNodes":2}}`)
		name := backend.WorkloadName(lifecyclev1alpha1.BackendTrainJob, run.Name)

		By("a missing runtime: the run waits, Pending, and says for what")
		expectPending(run, "ClusterTrainingRuntime "+rt+" does not exist")
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &trainerv1alpha1.TrainJob{})).NotTo(Succeed())

		By("the runtime installed: the TrainJob, controlled by the run, told the run's environment")
		runtimeObj := hardenedRuntime(rt, false)
		Expect(k8sClient.Create(ctx, runtimeObj)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, runtimeObj))).To(Succeed()) })
		tj := &trainerv1alpha1.TrainJob{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, tj)).To(Succeed())
			got := fetchRun(g, run)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.RunRunning))
			g.Expect(got.Status.Workload).To(Equal(&lifecyclev1alpha1.WorkloadRef{Kind: "TrainJob", Name: name}))
			g.Expect(got.Status.Message).To(Equal("TrainJob " + name + " is running"))
		}).Should(Succeed())
		Expect(metav1.IsControlledBy(tj, run)).To(BeTrue())
		Expect(tj.Labels).To(HaveKeyWithValue(serving.LabelManagedBy, serving.ManagedBy))
		Expect(tj.Annotations).To(HaveKeyWithValue(retrain.AnnotationTargetVersion, "1.0.1"))
		Expect(tj.Spec.Trainer.Env).To(ContainElement(corev1.EnvVar{Name: retrain.EnvTargetVersion, Value: "1.0.1"}))
		Expect(tj.Spec.Trainer.Env).To(ContainElement(corev1.EnvVar{Name: retrain.EnvResultContainer, Value: backend.TrainerNode}))

		By("the Trainer and JobSet controllers' part: a JobSet, its node Job, two ranks that report differently")
		js := &jobsetv1alpha2.JobSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			OwnerReferences: controlledBy(tj, "trainer.kubeflow.org/v1alpha1", "TrainJob")},
			Spec: jobsetv1alpha2.JobSetSpec{ReplicatedJobs: []jobsetv1alpha2.ReplicatedJob{{Name: backend.TrainerNode, Replicas: 1,
				Template: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: backend.TrainerNode, Image: "t"}}}}}}}}}}
		Expect(k8sClient.Create(ctx, js)).To(Succeed())
		rank1 := strings.Replace(goodResult, "s3://models/retrained/model.onnx", "s3://models/rank1/model.onnx", 1)
		indexedJob(js, "jobset.x-k8s.io/v1alpha2", "JobSet", backend.JobSetJobName(name, backend.TrainerNode), backend.TrainerNode, goodResult, rank1)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tj), tj)).To(Succeed())
			tj.Status.Conditions = []metav1.Condition{{Type: trainerv1alpha1.TrainJobComplete, Status: metav1.ConditionTrue,
				Reason: "JobSetCompleted", Message: "jobset completed", LastTransitionTime: metav1.Now()}}
			g.Expect(k8sClient.Status().Update(ctx, tj)).To(Succeed())
		}).Should(Succeed())

		By("the version rank 0 reported, with lineage naming the TrainJob")
		mv := registered(run)
		Expect(mv.Spec.Artifact.URI).To(Equal("s3://models/retrained/model.onnx"))
		Expect(mv.Spec.Lineage.TrainingJob).To(Equal(name))
		Expect(mv.Spec.Lineage.TrainingKind).To(Equal("TrainJob"))
		Expect(fetchRun(Default, run).Status.Message).To(Equal("TrainJob " + name + " registered ModelVersion " + mv.Name))
		Eventually(func(g Gomega) []string { return eventReasons(g, run) }).Should(ContainElement("Normal/RetrainingSucceeded"))
	})

	It("refuses a TrainJob whose runtime would run a privileged pod, and creates nothing", func() {
		ns := newNamespace()
		rt := "torch-privileged-" + ns
		runtimeObj := hardenedRuntime(rt, true)
		Expect(k8sClient.Create(ctx, runtimeObj)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, runtimeObj))).To(Succeed()) })
		run := engineRun(ns, "churn", lifecyclev1alpha1.BackendTrainJob, `{"runtimeRef":{"name":"`+rt+`"}}`)
		Eventually(func(g Gomega) {
			expectFailed(g, fetchRun(g, run), lifecyclev1alpha1.ReasonTemplateRefused)
			g.Expect(fetchRun(g, run).Status.Message).To(ContainSubstring("the TrainJob template is refused: ClusterTrainingRuntime " + rt + " replicatedJobs[node]: privileged"))
		}).Should(Succeed())
		var list trainerv1alpha1.TrainJobList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		Expect(list.Items).To(BeEmpty())
	})

	It("fails with the JobSet controller's words when its JobSet fails", func() {
		ns := newNamespace()
		run := engineRun(ns, "churn", lifecyclev1alpha1.BackendJobSet,
			`{"replicatedJobs":[{"name":"workers","replicas":1,"template":{"spec":{"template":{"spec":{"containers":[{"name":"train","image":"t:1"}]}}}}}]}`)
		js := &jobsetv1alpha2.JobSet{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: backend.WorkloadName(lifecyclev1alpha1.BackendJobSet, run.Name)}, js)).To(Succeed())
		}).Should(Succeed())
		pod := js.Spec.ReplicatedJobs[0].Template.Spec.Template
		Expect(pod.Spec.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
		Expect(pod.Labels).To(HaveKeyWithValue(lifecyclev1alpha1.LabelProduct, "churn"))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(js), js)).To(Succeed())
			js.Status.Conditions = []metav1.Condition{{Type: string(jobsetv1alpha2.JobSetFailed), Status: metav1.ConditionTrue,
				Reason: "FailedJobs", Message: "jobset failed due to one or more job failures", LastTransitionTime: metav1.Now()}}
			g.Expect(k8sClient.Status().Update(ctx, js)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			expectFailed(g, fetchRun(g, run), lifecyclev1alpha1.ReasonWorkloadFailed)
			g.Expect(fetchRun(g, run).Status.Message).To(Equal("JobSet " + js.Name + " failed: FailedJobs: jobset failed due to one or more job failures"))
		}).Should(Succeed())
		Expect(versionsIn(Default, ns)).To(BeEmpty())
	})

	It("waits while KubeRay is not installed, and trains once its CRDs are", func() {
		ns := newNamespace()
		submitter := `{"spec":{"containers":[{"name":"submit","image":"rayproject/ray:2.46.0"}]}}`
		run := engineRun(ns, "churn", lifecyclev1alpha1.BackendRayJob, `{"entrypoint":"python train.py","shutdownAfterJobFinishes":true,
			"rayClusterSpec":{"headGroupSpec":{"rayStartParams":{},"template":{"spec":{"containers":[{"name":"ray-head","image":"rayproject/ray:2.46.0"}]}}}},
			"submitterPodTemplate":`+submitter+`}`)

		By("no RayJob CRD: the run waits with a condition; the operator keeps running")
		expectPending(run, "the RayJob backend is not installed: the API server serves no RayJob in ray.io/v1")

		By("KubeRay's CRDs installed, from its module: the run creates its RayJob")
		paths, err := testenv.RayCRDs()
		Expect(err).NotTo(HaveOccurred())
		_, err = envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: paths})
		Expect(err).NotTo(HaveOccurred())
		name := backend.WorkloadName(lifecyclev1alpha1.BackendRayJob, run.Name)
		rj := &rayv1.RayJob{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, rj)).To(Succeed())
			g.Expect(fetchRun(g, run).Status.Phase).To(Equal(lifecyclev1alpha1.RunRunning))
		}, "40s").Should(Succeed())
		Expect(metav1.IsControlledBy(rj, run)).To(BeTrue())
		Expect(rj.Spec.SubmitterPodTemplate.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))

		By("KubeRay's part: the submitter Job reports, the RayJob completes")
		indexedJob(rj, "ray.io/v1", "RayJob", name, "submit", goodResult)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rj), rj)).To(Succeed())
			rj.Status.JobDeploymentStatus, rj.Status.JobStatus = rayv1.JobDeploymentStatusComplete, rayv1.JobStatusSucceeded
			g.Expect(k8sClient.Status().Update(ctx, rj)).To(Succeed())
		}).Should(Succeed())
		mv := registered(run)
		Expect(mv.Spec.Lineage.TrainingKind).To(Equal("RayJob"))
		Expect(mv.Spec.Lineage.TrainingJob).To(Equal(name))
	})
})
