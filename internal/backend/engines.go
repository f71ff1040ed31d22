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
package backend

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rayv1 "github.com/ray-project/kuberay/ray-operator/apis/ray/v1"
	jobsetv1alpha2 "sigs.k8s.io/jobset/api/jobset/v1alpha2"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

var jobGVK = batchv1.SchemeGroupVersion.WithKind("Job")

// jobEngine is a batch/v1 Job, rendered by package retrain.
type jobEngine struct{}

func (jobEngine) Backend() lifecyclev1alpha1.TrainingBackend { return lifecyclev1alpha1.BackendJob }
func (jobEngine) GVK() schema.GroupVersionKind               { return jobGVK }
func (jobEngine) New() client.Object                         { return &batchv1.Job{} }

func (jobEngine) Progress(obj client.Object) Progress {
	return JobProgress(obj.(*batchv1.Job))
}

func (jobEngine) ResultPath(client.Object, string) []Link { return nil }

// JobProgress is a batch Job's phase: Complete and Failed are the Job
// controller's last word.
func JobProgress(job *batchv1.Job) Progress {
	if c := retrain.JobCondition(job, batchv1.JobFailed); c != nil {
		p := Progress{Phase: Failed, Why: because(c.Reason, c.Message, "the Job controller gave no reason")}
		if !c.LastTransitionTime.IsZero() {
			p.At = c.LastTransitionTime.DeepCopy()
		}
		return p
	}
	if retrain.JobCondition(job, batchv1.JobComplete) != nil {
		return Progress{Phase: Succeeded, At: job.Status.CompletionTime}
	}
	return Progress{Phase: Running}
}

// because is reason and message in one phrase, or none when both are
// empty.
func because(reason, message, none string) string {
	why := strings.TrimPrefix(reason+": "+message, ": ")
	why = strings.TrimSuffix(why, ": ")
	if why == "" {
		return none
	}
	return why
}

// conditionProgress reads the metav1 conditions an engine sets: ok and
// failed are the condition types of its two ends.
func conditionProgress(conds []metav1.Condition, ok, failed, engine string) Progress {
	if c := meta.FindStatusCondition(conds, failed); c != nil && c.Status == metav1.ConditionTrue {
		return Progress{Phase: Failed, Why: because(c.Reason, c.Message, engine+" gave no reason"), At: c.LastTransitionTime.DeepCopy()}
	}
	if c := meta.FindStatusCondition(conds, ok); c != nil && c.Status == metav1.ConditionTrue {
		return Progress{Phase: Succeeded, At: c.LastTransitionTime.DeepCopy()}
	}
	return Progress{Phase: Running}
}

var jobSetGVK = jobsetv1alpha2.SchemeGroupVersion.WithKind("JobSet")

// jobSetEngine is a JobSet: replicated jobs, each a batch Job template the
// operator hardens like a Job's.
type jobSetEngine struct{}

func (jobSetEngine) Backend() lifecyclev1alpha1.TrainingBackend {
	return lifecyclev1alpha1.BackendJobSet
}
func (jobSetEngine) GVK() schema.GroupVersionKind { return jobSetGVK }
func (jobSetEngine) New() client.Object           { return &jobsetv1alpha2.JobSet{} }

func (jobSetEngine) Progress(obj client.Object) Progress {
	js := obj.(*jobsetv1alpha2.JobSet)
	return conditionProgress(js.Status.Conditions, string(jobsetv1alpha2.JobSetCompleted), string(jobsetv1alpha2.JobSetFailed), "the JobSet controller")
}

func (e jobSetEngine) ResultPath(obj client.Object, resultJob string) []Link {
	js := obj.(*jobsetv1alpha2.JobSet)
	return []Link{{GVK: jobGVK, Name: JobSetJobName(js.Name, e.resultJob(&js.Spec, resultJob))}}
}

// JobSetJobName is the name the JobSet controller gives the first Job of a
// replicated job.
func JobSetJobName(jobSet, replicatedJob string) string {
	return fmt.Sprintf("%s-%s-0", jobSet, replicatedJob)
}

func (jobSetEngine) resultJob(spec *jobsetv1alpha2.JobSetSpec, name string) string {
	if name == "" && len(spec.ReplicatedJobs) > 0 {
		return spec.ReplicatedJobs[0].Name
	}
	return name
}

func (jobSetEngine) decode(raw []byte) (any, error) {
	spec := &jobsetv1alpha2.JobSetSpec{}
	if err := decodeStrict(raw, spec); err != nil {
		return nil, err
	}
	if len(spec.ReplicatedJobs) == 0 {
		return nil, fmt.Errorf("replicatedJobs: a JobSet needs at least one replicated job")
	}
	for i, rj := range spec.ReplicatedJobs {
		if rj.Name == "" {
			return nil, fmt.Errorf("replicatedJobs[%d].name: required", i)
		}
		if len(rj.Name) > replicatedJobNameMax {
			return nil, fmt.Errorf("replicatedJobs[%d].name: at most %d characters, so that the Jobs the JobSet controller names <workload>-%s-<index> stay valid label values",
				i, replicatedJobNameMax, rj.Name)
		}
		if len(rj.Template.Spec.Template.Spec.Containers) == 0 {
			return nil, fmt.Errorf("replicatedJobs[%d].template.spec.template.spec.containers: a pod needs a container", i)
		}
	}
	return spec, nil
}

func (jobSetEngine) pods(spec any) []Pod {
	s := spec.(*jobsetv1alpha2.JobSetSpec)
	out := make([]Pod, 0, len(s.ReplicatedJobs))
	for i := range s.ReplicatedJobs {
		rj := &s.ReplicatedJobs[i]
		// The Job API refuses a pod that may restart Always; a JobSet
		// without its webhook gets no default.
		if rj.Template.Spec.Template.Spec.RestartPolicy == "" {
			rj.Template.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		}
		out = append(out, jobPod(fmt.Sprintf("spec.replicatedJobs[%s].template", rj.Name), &rj.Template))
	}
	return out
}

func (e jobSetEngine) inject(spec any, env []corev1.EnvVar) {
	for _, p := range e.pods(spec) {
		injectPod(p.Template, env)
	}
}

// injectPod adds env to every container and init container of a pod.
func injectPod(pod *corev1.PodTemplateSpec, env []corev1.EnvVar) {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			cs[i].Env = append(cs[i].Env, env...)
		}
	}
}

func (jobSetEngine) object(m metav1.ObjectMeta, spec any) client.Object {
	return &jobsetv1alpha2.JobSet{TypeMeta: metav1.TypeMeta{APIVersion: jobSetGVK.GroupVersion().String(), Kind: jobSetGVK.Kind},
		ObjectMeta: m, Spec: *spec.(*jobsetv1alpha2.JobSetSpec)}
}

func (e jobSetEngine) resultPod(spec any, resultJob string) (*corev1.PodTemplateSpec, error) {
	s := spec.(*jobsetv1alpha2.JobSetSpec)
	name := e.resultJob(s, resultJob)
	for i := range s.ReplicatedJobs {
		if s.ReplicatedJobs[i].Name == name {
			return &s.ReplicatedJobs[i].Template.Spec.Template, nil
		}
	}
	return nil, fmt.Errorf("resultJob %q is not a replicated job of the JobSet", resultJob)
}

func (e jobSetEngine) defaultResultContainer(spec any, resultJob string) string {
	if pod, _ := e.resultPod(spec, resultJob); pod != nil && len(pod.Spec.Containers) > 0 {
		return pod.Spec.Containers[0].Name
	}
	return ""
}

var rayJobGVK = rayv1.SchemeGroupVersion.WithKind("RayJob")

// rayJobEngine is a KubeRay RayJob that brings up its own RayCluster and
// submits with a submitter Job, whose pod reports the result.
type rayJobEngine struct{}

func (rayJobEngine) Backend() lifecyclev1alpha1.TrainingBackend {
	return lifecyclev1alpha1.BackendRayJob
}
func (rayJobEngine) GVK() schema.GroupVersionKind { return rayJobGVK }
func (rayJobEngine) New() client.Object           { return &rayv1.RayJob{} }

func (rayJobEngine) Progress(obj client.Object) Progress {
	rj := obj.(*rayv1.RayJob)
	st := rj.Status
	switch st.JobDeploymentStatus {
	case rayv1.JobDeploymentStatusComplete:
		if st.JobStatus == rayv1.JobStatusSucceeded {
			return Progress{Phase: Succeeded, At: st.EndTime}
		}
		return Progress{Phase: Failed, Why: because(string(st.JobStatus), st.Message, "the Ray job ended "+string(st.JobStatus)), At: st.EndTime}
	case rayv1.JobDeploymentStatusFailed, rayv1.JobDeploymentStatusValidationFailed:
		return Progress{Phase: Failed, Why: because(string(st.Reason), st.Message, "KubeRay gave no reason"), At: st.EndTime}
	}
	return Progress{Phase: Running}
}

func (rayJobEngine) ResultPath(obj client.Object, _ string) []Link {
	// KubeRay names the submitter Job after the RayJob.
	return []Link{{GVK: jobGVK, Name: obj.GetName()}}
}

func (rayJobEngine) decode(raw []byte) (any, error) {
	spec := &rayv1.RayJobSpec{}
	if err := decodeStrict(raw, spec); err != nil {
		return nil, err
	}
	var why []string
	if spec.RayClusterSpec == nil {
		why = append(why, "rayClusterSpec: required; a run brings up its own cluster (clusterSelector is not supported)")
	}
	if len(spec.ClusterSelector) > 0 {
		why = append(why, "clusterSelector: not supported; a run's pods are its own, hardened and checked")
	}
	if m := spec.SubmissionMode; m != "" && m != rayv1.K8sJobMode {
		why = append(why, fmt.Sprintf("submissionMode: %s is not supported; the result comes from the submitter Job (K8sJobMode)", m))
	}
	if spec.SubmitterPodTemplate == nil {
		why = append(why, "submitterPodTemplate: required; its pod reports the result")
	} else if len(spec.SubmitterPodTemplate.Spec.Containers) == 0 {
		why = append(why, "submitterPodTemplate.spec.containers: a pod needs a container")
	}
	if spec.Entrypoint == "" {
		why = append(why, "entrypoint: required")
	}
	if len(why) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(why, "; "))
	}
	return spec, nil
}

func (rayJobEngine) pods(spec any) []Pod {
	s := spec.(*rayv1.RayJobSpec)
	out := []Pod{{Path: "spec.rayClusterSpec.headGroupSpec.template", Template: &s.RayClusterSpec.HeadGroupSpec.Template}}
	for i := range s.RayClusterSpec.WorkerGroupSpecs {
		w := &s.RayClusterSpec.WorkerGroupSpecs[i]
		out = append(out, Pod{Path: fmt.Sprintf("spec.rayClusterSpec.workerGroupSpecs[%s].template", w.GroupName), Template: &w.Template})
	}
	if s.SubmitterPodTemplate.Spec.RestartPolicy == "" {
		s.SubmitterPodTemplate.Spec.RestartPolicy = corev1.RestartPolicyNever
	}
	return append(out, Pod{Path: "spec.submitterPodTemplate", Template: s.SubmitterPodTemplate})
}

func (e rayJobEngine) inject(spec any, env []corev1.EnvVar) {
	for _, p := range e.pods(spec) {
		injectPod(p.Template, env)
	}
}

func (rayJobEngine) object(m metav1.ObjectMeta, spec any) client.Object {
	return &rayv1.RayJob{TypeMeta: metav1.TypeMeta{APIVersion: rayJobGVK.GroupVersion().String(), Kind: rayJobGVK.Kind},
		ObjectMeta: m, Spec: *spec.(*rayv1.RayJobSpec)}
}

func (rayJobEngine) resultPod(spec any, _ string) (*corev1.PodTemplateSpec, error) {
	return spec.(*rayv1.RayJobSpec).SubmitterPodTemplate, nil
}

func (rayJobEngine) defaultResultContainer(spec any, _ string) string {
	return spec.(*rayv1.RayJobSpec).SubmitterPodTemplate.Spec.Containers[0].Name
}
