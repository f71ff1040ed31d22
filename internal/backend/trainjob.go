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
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainerv1alpha1 "github.com/kubeflow/trainer/v2/pkg/apis/trainer/v1alpha1"
	jobsetv1alpha2 "sigs.k8s.io/jobset/api/jobset/v1alpha2"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

var trainJobGVK = trainerv1alpha1.SchemeGroupVersion.WithKind(trainerv1alpha1.TrainJobKind)

// TrainerNode is Kubeflow Trainer's name for the replicated job that runs
// the trainer, and for the trainer's container in its pods.
const TrainerNode = "node"

// Kinds of training runtime a TrainJob refers to.
const (
	KindClusterTrainingRuntime = "ClusterTrainingRuntime"
	KindTrainingRuntime        = "TrainingRuntime"
)

// RuntimeRef names a TrainJob's runtime: Namespace is empty for a
// ClusterTrainingRuntime.
type RuntimeRef struct {
	Kind, Namespace, Name string
}

func (r RuntimeRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// RuntimeTemplate is the JobSet a training runtime describes.
type RuntimeTemplate = trainerv1alpha1.JobSetTemplateSpec

// UnavailableError says an engine cannot take a run yet: its CRD, or the
// runtime a TrainJob names, is not in the cluster. A run waits for it
// rather than fail, for an administrator may install it.
type UnavailableError struct{ Msg string }

func (e *UnavailableError) Error() string { return e.Msg }

// trainJobEngine is a Kubeflow Trainer TrainJob: the Trainer controller
// turns it into a JobSet from its runtime, and the JobSet into Jobs.
type trainJobEngine struct{}

func (trainJobEngine) Backend() lifecyclev1alpha1.TrainingBackend {
	return lifecyclev1alpha1.BackendTrainJob
}
func (trainJobEngine) GVK() schema.GroupVersionKind { return trainJobGVK }
func (trainJobEngine) New() client.Object           { return &trainerv1alpha1.TrainJob{} }

func (trainJobEngine) Progress(obj client.Object) Progress {
	tj := obj.(*trainerv1alpha1.TrainJob)
	return conditionProgress(tj.Status.Conditions, trainerv1alpha1.TrainJobComplete, trainerv1alpha1.TrainJobFailed, "the Trainer controller")
}

func (trainJobEngine) ResultPath(obj client.Object, _ string) []Link {
	// The Trainer controller names the JobSet after the TrainJob; the
	// trainer's rank 0 is the first pod of the node job's first Job.
	return []Link{{GVK: jobSetGVK, Name: obj.GetName()}, {GVK: jobGVK, Name: JobSetJobName(obj.GetName(), TrainerNode)}}
}

func (trainJobEngine) decode(raw []byte) (any, error) {
	spec := &trainerv1alpha1.TrainJobSpec{}
	if err := decodeStrict(raw, spec); err != nil {
		return nil, err
	}
	if spec.RuntimeRef.Name == "" {
		return nil, errors.New("runtimeRef.name: required")
	}
	if k := runtimeKind(spec); k != KindClusterTrainingRuntime && k != KindTrainingRuntime {
		return nil, fmt.Errorf("runtimeRef.kind: %s is not a training runtime (ClusterTrainingRuntime or TrainingRuntime)", k)
	}
	if g := spec.RuntimeRef.APIGroup; g != nil && *g != trainerv1alpha1.GroupVersion.Group {
		return nil, fmt.Errorf("runtimeRef.apiGroup: %s is not %s", *g, trainerv1alpha1.GroupVersion.Group)
	}
	if spec.Suspend != nil && *spec.Suspend {
		return nil, errors.New("suspend: a run's TrainJob starts at once; suspend it with the product's retraining instead")
	}
	return spec, nil
}

func runtimeKind(spec *trainerv1alpha1.TrainJobSpec) string {
	if spec.RuntimeRef.Kind == nil || *spec.RuntimeRef.Kind == "" {
		return KindClusterTrainingRuntime
	}
	return *spec.RuntimeRef.Kind
}

// pods are what a TrainJob itself asks of its pods, the ServiceAccount and
// volumes of each override; the rest is its runtime's (checkRuntime).
func (trainJobEngine) pods(spec any) []Pod {
	s := spec.(*trainerv1alpha1.TrainJobSpec)
	out := make([]Pod, 0, len(s.PodSpecOverrides))
	for i, o := range s.PodSpecOverrides {
		pod := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: o.Volumes}}
		if o.ServiceAccountName != nil {
			pod.Spec.ServiceAccountName = *o.ServiceAccountName
		}
		out = append(out, Pod{Path: fmt.Sprintf("spec.podSpecOverrides[%d]", i), Template: pod})
	}
	return out
}

func (trainJobEngine) inject(spec any, env []corev1.EnvVar) {
	s := spec.(*trainerv1alpha1.TrainJobSpec)
	if s.Trainer == nil {
		s.Trainer = &trainerv1alpha1.Trainer{}
	}
	s.Trainer.Env = append(s.Trainer.Env, env...)
}

func (trainJobEngine) object(m metav1.ObjectMeta, spec any) client.Object {
	return &trainerv1alpha1.TrainJob{TypeMeta: metav1.TypeMeta{APIVersion: trainJobGVK.GroupVersion().String(), Kind: trainJobGVK.Kind},
		ObjectMeta: m, Spec: *spec.(*trainerv1alpha1.TrainJobSpec)}
}

func (trainJobEngine) resultPod(any, string) (*corev1.PodTemplateSpec, error) { return nil, nil }

func (trainJobEngine) defaultResultContainer(any, string) string { return TrainerNode }

// checkRuntime checks the pods a TrainJob's runtime makes, with the
// TrainJob's overrides applied, against the policy: the Trainer controller
// creates them from a runtime the operator does not own and cannot harden,
// so a runtime that would run a pod the policy forbids is refused.
func (e trainJobEngine) checkRuntime(spec any, namespace, resultContainer string, pol retrain.Policy, read RuntimeReader) error {
	s := spec.(*trainerv1alpha1.TrainJobSpec)
	ref := RuntimeRef{Kind: runtimeKind(s), Name: s.RuntimeRef.Name}
	if ref.Kind == KindTrainingRuntime {
		ref.Namespace = namespace
	}
	if read == nil {
		return &UnavailableError{Msg: "no reader of training runtimes"}
	}
	tpl, err := read(ref)
	if err != nil {
		return err
	}
	pods := RuntimePods(ref, &tpl.Spec, s)
	if err := checkPods(pods, pol, false); err != nil {
		return err
	}
	if resultContainer == "" {
		resultContainer = TrainerNode
	}
	for _, p := range pods {
		if p.Path == ref.String()+" replicatedJobs["+TrainerNode+"]" {
			if !hasContainer(p.Template, resultContainer) {
				return &retrain.RefusedError{Reasons: []string{fmt.Sprintf("resultContainer %q is not a container of the %s job of %s",
					resultContainer, TrainerNode, ref)}}
			}
			return nil
		}
	}
	return &retrain.RefusedError{Reasons: []string{fmt.Sprintf("%s has no replicated job %q, where Kubeflow Trainer runs the trainer", ref, TrainerNode)}}
}

// RuntimePods are the pod templates of a runtime's JobSet as a TrainJob
// overrides them: its ServiceAccount and added volumes, the parts of an
// override the policy judges.
func RuntimePods(ref RuntimeRef, js *jobsetv1alpha2.JobSetSpec, tj *trainerv1alpha1.TrainJobSpec) []Pod {
	out := make([]Pod, 0, len(js.ReplicatedJobs))
	for _, rj := range js.ReplicatedJobs {
		pod := rj.Template.Spec.Template.DeepCopy()
		for _, o := range tj.PodSpecOverrides {
			if !targets(o, rj.Name) {
				continue
			}
			if o.ServiceAccountName != nil {
				pod.Spec.ServiceAccountName = *o.ServiceAccountName
			}
			pod.Spec.Volumes = append(pod.Spec.Volumes, o.Volumes...)
		}
		out = append(out, Pod{Path: ref.String() + " replicatedJobs[" + rj.Name + "]", Template: pod})
	}
	return out
}

func targets(o trainerv1alpha1.PodSpecOverride, job string) bool {
	for _, t := range o.TargetJobs {
		if t.Name == job {
			return true
		}
	}
	return false
}

// NotInstalled is the UnavailableError of an engine whose kind the API
// server does not serve.
func NotInstalled(e Engine) error {
	gvk := e.GVK()
	return &UnavailableError{Msg: fmt.Sprintf("the %s backend is not installed: the API server serves no %s in %s; the run starts once its CRD is installed",
		e.Backend(), gvk.Kind, gvk.GroupVersion())}
}
