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
	"encoding/json"
	"strings"
	"testing"

	trainerv1alpha1 "github.com/kubeflow/trainer/v2/pkg/apis/trainer/v1alpha1"
	rayv1 "github.com/ray-project/kuberay/ray-operator/apis/ray/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	jobsetv1alpha2 "sigs.k8s.io/jobset/api/jobset/v1alpha2"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

const trainPod = `{"spec":{"containers":[{"name":"train","image":"t:1"}]}}`

var templates = map[lifecyclev1alpha1.TrainingBackend]string{
	lifecyclev1alpha1.BackendTrainJob: `{"runtimeRef":{"name":"torch-distributed"},"trainer":{"image":"t:1","numNodes":2}}`,
	lifecyclev1alpha1.BackendJobSet: `{"replicatedJobs":[{"name":"driver","replicas":1,"template":{"spec":{"template":` + trainPod + `}}},
		{"name":"workers","replicas":2,"template":{"spec":{"completionMode":"Indexed","completions":2,"parallelism":2,"template":` + trainPod + `}}}]}`,
	lifecyclev1alpha1.BackendRayJob: `{"entrypoint":"python train.py","shutdownAfterJobFinishes":true,
		"rayClusterSpec":{"headGroupSpec":{"rayStartParams":{},"template":` + trainPod + `},
		"workerGroupSpecs":[{"groupName":"gpu","replicas":2,"rayStartParams":{},"template":` + trainPod + `}]},
		"submitterPodTemplate":{"spec":{"containers":[{"name":"submit","image":"ray:2"}]}}}`,
}

func tpl(b lifecyclev1alpha1.TrainingBackend) *lifecyclev1alpha1.WorkloadTemplate {
	return &lifecyclev1alpha1.WorkloadTemplate{Metadata: lifecyclev1alpha1.WorkloadMetadata{Labels: map[string]string{"team": "risk"}},
		Spec: runtime.RawExtension{Raw: []byte(templates[b])}}
}

func TestValidTemplates(t *testing.T) {
	for b := range templates {
		if err := Validate(b, tpl(b), "", ""); err != nil {
			t.Errorf("%s: %v", b, err)
		}
		if err := Admit(b, tpl(b), retrain.Policy{}); err != nil {
			t.Errorf("%s: admitted with %v", b, err)
		}
	}
}

// A run's workload: every pod the operator can reach hardened, labelled
// and told the run's environment; the result container reads its
// termination message from a file.
func TestResolveAndBuild(t *testing.T) {
	labels := retrain.Labels("churn", retrain.Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1"})
	env := func(result string) []corev1.EnvVar {
		return []corev1.EnvVar{{Name: retrain.EnvTargetVersion, Value: "1.0.1"}, {Name: retrain.EnvResultContainer, Value: result}}
	}
	wantResult := map[lifecyclev1alpha1.TrainingBackend]string{
		lifecyclev1alpha1.BackendTrainJob: TrainerNode, lifecyclev1alpha1.BackendJobSet: "train", lifecyclev1alpha1.BackendRayJob: "submit",
	}
	for b := range templates {
		t.Run(string(b), func(t *testing.T) {
			res, err := Resolve(b, tpl(b), labels, map[string]string{retrain.AnnotationTargetVersion: "1.0.1"}, env, "", "", retrain.Policy{})
			if err != nil {
				t.Fatal(err)
			}
			if res.ResultContainer != wantResult[b] {
				t.Errorf("result container %q, want %q", res.ResultContainer, wantResult[b])
			}
			if res.Workload.Metadata.Labels["team"] != "risk" || res.Workload.Metadata.Labels[serving.LabelManagedBy] != serving.ManagedBy {
				t.Errorf("labels %v", res.Workload.Metadata.Labels)
			}
			run := &lifecyclev1alpha1.RetrainingRun{
				ObjectMeta: metav1.ObjectMeta{Name: "churn-drift-0123456789", Namespace: "ml"},
				Spec: lifecyclev1alpha1.RetrainingRunSpec{Product: "churn", Backend: b, TargetVersion: "1.0.1",
					Trigger:         lifecyclev1alpha1.RunTrigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1"},
					ResultContainer: res.ResultContainer, Workload: res.Workload},
			}
			obj, err := Build(run, WorkloadName(b, run.Name), retrain.Policy{}, hardenedRuntime)
			if err != nil {
				t.Fatal(err)
			}
			if obj.GetName() != run.Name || obj.GetNamespace() != "ml" || obj.GetAnnotations()[retrain.AnnotationTargetVersion] != "1.0.1" {
				t.Errorf("object %s/%s annotations %v", obj.GetNamespace(), obj.GetName(), obj.GetAnnotations())
			}
			var pods []*corev1.PodTemplateSpec
			var resultPod *corev1.PodTemplateSpec
			switch o := obj.(type) {
			case *trainerv1alpha1.TrainJob:
				if !hasEnv(o.Spec.Trainer.Env, retrain.EnvResultContainer, TrainerNode) {
					t.Errorf("trainer env %v", o.Spec.Trainer.Env)
				}
			case *jobsetv1alpha2.JobSet:
				for i := range o.Spec.ReplicatedJobs {
					pods = append(pods, &o.Spec.ReplicatedJobs[i].Template.Spec.Template)
				}
				resultPod = pods[0]
			case *rayv1.RayJob:
				pods = append(pods, &o.Spec.RayClusterSpec.HeadGroupSpec.Template, &o.Spec.RayClusterSpec.WorkerGroupSpecs[0].Template,
					o.Spec.SubmitterPodTemplate)
				resultPod = o.Spec.SubmitterPodTemplate
			}
			for _, p := range pods {
				if p.Labels[lifecyclev1alpha1.LabelProduct] != "churn" {
					t.Errorf("pod labels %v", p.Labels)
				}
				c := p.Spec.Containers[0]
				if !hasEnv(c.Env, retrain.EnvTargetVersion, "1.0.1") || c.SecurityContext == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
					t.Errorf("container %s: env %v, security %v", c.Name, c.Env, c.SecurityContext)
				}
				if len(c.Env) != 2 {
					t.Errorf("container %s told the environment %d times", c.Name, len(c.Env)/2)
				}
				if p == resultPod && c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
					t.Errorf("result container %s reads %q", c.Name, c.TerminationMessagePolicy)
				}
			}
		})
	}
}

func hasEnv(env []corev1.EnvVar, name, value string) bool {
	for _, e := range env {
		if e.Name == name && e.Value == value {
			return true
		}
	}
	return false
}

func restricted() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: TrainerNode, Image: "t:1", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}}
}

func runtimeOf(pod corev1.PodTemplateSpec) *RuntimeTemplate {
	return &RuntimeTemplate{Spec: jobsetv1alpha2.JobSetSpec{ReplicatedJobs: []jobsetv1alpha2.ReplicatedJob{
		{Name: TrainerNode, Template: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: pod}}}}}}
}

func hardenedRuntime(RuntimeRef) (*RuntimeTemplate, error) { return runtimeOf(restricted()), nil }

// A TrainJob's pods come from a runtime the operator cannot harden: the
// runtime's pods, as the TrainJob overrides them, are held to the policy.
func TestTrainJobRuntimeChecked(t *testing.T) {
	privileged := restricted()
	privileged.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
	noNode := restricted()
	noNode.Spec.Containers[0].Name = "trainer"
	tests := []struct {
		name    string
		spec    string
		runtime *RuntimeTemplate
		result  string
		pol     retrain.Policy
		want    string
	}{
		{name: "a hardened runtime", spec: templates[lifecyclev1alpha1.BackendTrainJob], runtime: runtimeOf(restricted())},
		{name: "a privileged runtime", spec: templates[lifecyclev1alpha1.BackendTrainJob], runtime: runtimeOf(privileged),
			want: "ClusterTrainingRuntime torch-distributed replicatedJobs[node]: privileged"},
		{name: "a ServiceAccount an override asks for",
			spec:    `{"runtimeRef":{"name":"torch-distributed"},"podSpecOverrides":[{"targetJobs":[{"name":"node"}],"serviceAccountName":"admin"}]}`,
			runtime: runtimeOf(restricted()), want: `serviceAccountName "admin" is not one the operator allows`},
		{name: "a ServiceAccount the policy allows",
			spec:    `{"runtimeRef":{"name":"torch-distributed"},"podSpecOverrides":[{"targetJobs":[{"name":"node"}],"serviceAccountName":"trainer"}]}`,
			runtime: runtimeOf(restricted()), pol: retrain.Policy{ServiceAccounts: []string{"trainer"}}},
		{name: "a host path an override mounts",
			spec:    `{"runtimeRef":{"name":"torch-distributed"},"podSpecOverrides":[{"targetJobs":[{"name":"node"}],"volumes":[{"name":"h","hostPath":{"path":"/"}}]}]}`,
			runtime: runtimeOf(restricted()), want: `spec.podSpecOverrides[0]: restricted volume types (volume "h" uses restricted volume type "hostPath")`},
		{name: "a namespaced runtime", spec: `{"runtimeRef":{"name":"torch","kind":"TrainingRuntime"}}`, runtime: runtimeOf(privileged),
			want: "TrainingRuntime ml/torch replicatedJobs[node]"},
		{name: "a runtime without the node job", spec: templates[lifecyclev1alpha1.BackendTrainJob], runtime: runtimeOf(noNode),
			want: `resultContainer "node" is not a container of the node job`},
		{name: "a result container of the runtime's", spec: templates[lifecyclev1alpha1.BackendTrainJob], runtime: runtimeOf(noNode),
			result: "trainer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &lifecyclev1alpha1.RetrainingRun{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ml"},
				Spec: lifecyclev1alpha1.RetrainingRunSpec{Product: "churn", Backend: lifecyclev1alpha1.BackendTrainJob, ResultContainer: tt.result,
					Workload: &lifecyclev1alpha1.WorkloadTemplate{Spec: runtime.RawExtension{Raw: []byte(tt.spec)}}}}
			var asked RuntimeRef
			_, err := Build(run, "r", tt.pol, func(ref RuntimeRef) (*RuntimeTemplate, error) { asked = ref; return tt.runtime, nil })
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q (runtime %s)", err, tt.want, asked)
			}
		})
	}
}

// A missing runtime is a wait, not a refusal.
func TestTrainJobRuntimeMissing(t *testing.T) {
	run := &lifecyclev1alpha1.RetrainingRun{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ml"},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{Backend: lifecyclev1alpha1.BackendTrainJob,
			Workload: tpl(lifecyclev1alpha1.BackendTrainJob)}}
	_, err := Build(run, "r", retrain.Policy{}, func(ref RuntimeRef) (*RuntimeTemplate, error) {
		return nil, &UnavailableError{Msg: ref.String() + " does not exist"}
	})
	var unavailable *UnavailableError
	if !asUnavailable(err, &unavailable) || unavailable.Msg != "ClusterTrainingRuntime torch-distributed does not exist" {
		t.Fatalf("error %v, want the runtime named as unavailable", err)
	}
}

func asUnavailable(err error, out **UnavailableError) bool {
	u, ok := err.(*UnavailableError)
	*out = u
	return ok
}

// A JobSet's and a RayJob's pods are hardened where the template leaves
// settings unset, and refused where it asks for more.
func TestWorkloadPodsRefused(t *testing.T) {
	for _, tt := range []struct {
		b    lifecyclev1alpha1.TrainingBackend
		spec string
		want string
	}{
		{lifecyclev1alpha1.BackendJobSet, `{"replicatedJobs":[{"name":"w","template":{"spec":{"template":{"spec":{"hostNetwork":true,"containers":[{"name":"t","image":"t"}]}}}}}]}`,
			"spec.replicatedJobs[w].template.spec.template: host namespaces"},
		{lifecyclev1alpha1.BackendRayJob, `{"entrypoint":"x","rayClusterSpec":{"headGroupSpec":{"rayStartParams":{},"template":` + trainPod + `},
			"workerGroupSpecs":[{"groupName":"gpu","rayStartParams":{},"template":{"spec":{"containers":[{"name":"w","image":"w","securityContext":{"runAsUser":0}}]}}}]},
			"submitterPodTemplate":` + trainPod + `}`, "spec.rayClusterSpec.workerGroupSpecs[gpu].template: runAsUser=0"},
		{lifecyclev1alpha1.BackendRayJob, `{"entrypoint":"x","rayClusterSpec":{"headGroupSpec":{"rayStartParams":{},"template":` + trainPod + `}},
			"submitterPodTemplate":{"spec":{"serviceAccountName":"ray-admin","containers":[{"name":"s","image":"s"}]}}}`,
			`spec.submitterPodTemplate: serviceAccountName "ray-admin"`},
	} {
		err := Admit(tt.b, &lifecyclev1alpha1.WorkloadTemplate{Spec: runtime.RawExtension{Raw: []byte(tt.spec)}}, retrain.Policy{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.b, err, tt.want)
		}
	}
}

func TestProgress(t *testing.T) {
	t0 := metav1.Now()
	cond := func(typ string) []metav1.Condition {
		return []metav1.Condition{{Type: typ, Status: metav1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "node failed", LastTransitionTime: t0}}
	}
	for _, tt := range []struct {
		name string
		obj  Engine
		in   any
		want Phase
		why  string
	}{
		{"a Job failed", jobEngine{}, &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded"}}}}, Failed, "DeadlineExceeded"},
		{"a TrainJob running", trainJobEngine{}, &trainerv1alpha1.TrainJob{}, Running, ""},
		{"a TrainJob complete", trainJobEngine{}, &trainerv1alpha1.TrainJob{Status: trainerv1alpha1.TrainJobStatus{Conditions: cond(trainerv1alpha1.TrainJobComplete)}}, Succeeded, ""},
		{"a TrainJob failed", trainJobEngine{}, &trainerv1alpha1.TrainJob{Status: trainerv1alpha1.TrainJobStatus{Conditions: cond(trainerv1alpha1.TrainJobFailed)}}, Failed, "BackoffLimitExceeded: node failed"},
		{"a JobSet completed", jobSetEngine{}, &jobsetv1alpha2.JobSet{Status: jobsetv1alpha2.JobSetStatus{Conditions: cond("Completed")}}, Succeeded, ""},
		{"a JobSet failed", jobSetEngine{}, &jobsetv1alpha2.JobSet{Status: jobsetv1alpha2.JobSetStatus{Conditions: cond("Failed")}}, Failed, "node failed"},
		{"a RayJob running", rayJobEngine{}, &rayv1.RayJob{Status: rayv1.RayJobStatus{JobDeploymentStatus: rayv1.JobDeploymentStatusRunning}}, Running, ""},
		{"a RayJob succeeded", rayJobEngine{}, &rayv1.RayJob{Status: rayv1.RayJobStatus{JobDeploymentStatus: rayv1.JobDeploymentStatusComplete, JobStatus: rayv1.JobStatusSucceeded}}, Succeeded, ""},
		{"a RayJob whose job failed", rayJobEngine{}, &rayv1.RayJob{Status: rayv1.RayJobStatus{JobDeploymentStatus: rayv1.JobDeploymentStatusComplete, JobStatus: rayv1.JobStatusFailed, Message: "exit 1"}}, Failed, "FAILED: exit 1"},
		{"a RayJob KubeRay failed", rayJobEngine{}, &rayv1.RayJob{Status: rayv1.RayJobStatus{JobDeploymentStatus: rayv1.JobDeploymentStatusFailed, Reason: rayv1.DeadlineExceeded}}, Failed, "DeadlineExceeded"},
	} {
		p := tt.obj.Progress(tt.in.(interface {
			runtime.Object
			metav1.Object
		}))
		if p.Phase != tt.want || !strings.Contains(p.Why, tt.why) {
			t.Errorf("%s: %+v, want phase %d saying %q", tt.name, p, tt.want, tt.why)
		}
	}
}

// The result is read from the rank-0 Job of each engine, each link
// controlled by the one before.
func TestResultPath(t *testing.T) {
	tj := &trainerv1alpha1.TrainJob{ObjectMeta: metav1.ObjectMeta{Name: "churn-drift-1"}}
	got, _ := json.Marshal(trainJobEngine{}.ResultPath(tj, ""))
	if want := `[{"GVK":{"Group":"jobset.x-k8s.io","Version":"v1alpha2","Kind":"JobSet"},"Name":"churn-drift-1"},{"GVK":{"Group":"batch","Version":"v1","Kind":"Job"},"Name":"churn-drift-1-node-0"}]`; string(got) != want {
		t.Errorf("TrainJob path %s", got)
	}
	js := &jobsetv1alpha2.JobSet{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: jobsetv1alpha2.JobSetSpec{ReplicatedJobs: []jobsetv1alpha2.ReplicatedJob{{Name: "driver"}, {Name: "workers"}}}}
	if p := (jobSetEngine{}).ResultPath(js, ""); len(p) != 1 || p[0].Name != "c-driver-0" {
		t.Errorf("JobSet path %v", p)
	}
	if p := (jobSetEngine{}).ResultPath(js, "workers"); len(p) != 1 || p[0].Name != "c-workers-0" {
		t.Errorf("JobSet path %v", p)
	}
	if p := (rayJobEngine{}).ResultPath(&rayv1.RayJob{ObjectMeta: metav1.ObjectMeta{Name: "r"}}, ""); len(p) != 1 || p[0].Name != "r" || p[0].GVK.Kind != "Job" {
		t.Errorf("RayJob path %v", p)
	}
}

func TestWorkloadName(t *testing.T) {
	long := strings.Repeat("fraud-detector-", 3) + "drift-0123456789"
	if n := WorkloadName(lifecyclev1alpha1.BackendJob, long); n != long {
		t.Errorf("a Job is named %s", n)
	}
	n := WorkloadName(lifecyclev1alpha1.BackendTrainJob, long)
	if len(n) > workloadNameMax || n == WorkloadName(lifecyclev1alpha1.BackendTrainJob, long+"x") {
		t.Errorf("TrainJob named %s (%d)", n, len(n))
	}
	if l := len(JobSetJobName(n, strings.Repeat("w", replicatedJobNameMax))); l > 63 {
		t.Errorf("a JobSet's Job name of %d characters", l)
	}
}
