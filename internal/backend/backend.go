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
// Package backend is the engines a RetrainingRun trains on: a batch/v1 Job,
// a Kubeflow Trainer TrainJob, a JobSet, a KubeRay RayJob. Each renders its
// workload from the product's template, tells where the workload stands,
// and names the batch Job whose first pod reports the result, so that the
// RetrainingRun controller runs every engine the same way: create, follow,
// read one termination message, register.
package backend

import (
	"errors"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsjson "sigs.k8s.io/json"

	trainerv1alpha1 "github.com/kubeflow/trainer/v2/pkg/apis/trainer/v1alpha1"
	rayv1 "github.com/ray-project/kuberay/ray-operator/apis/ray/v1"
	jobsetv1alpha2 "sigs.k8s.io/jobset/api/jobset/v1alpha2"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// AddToScheme registers the engines' kinds, so that the operator reads and
// writes them typed. Registering a kind needs no CRD: an engine that is not
// installed is found out when a run asks for it (Available).
func AddToScheme(s *runtime.Scheme) error {
	return errors.Join(trainerv1alpha1.AddToScheme(s), jobsetv1alpha2.AddToScheme(s), rayv1.AddToScheme(s))
}

// MustAddToScheme is AddToScheme for package initialisation.
func MustAddToScheme(s *runtime.Scheme) { utilruntime.Must(AddToScheme(s)) }

// Phase is where a workload stands, as its engine tells it.
type Phase int

// Workload phases.
const (
	Running Phase = iota
	Succeeded
	Failed
)

// Progress is a workload's phase and the engine's words for it.
type Progress struct {
	Phase Phase
	// Why is the engine's reason and message, for a failure.
	Why string
	// At is when the engine says the workload ended, nil when it does not.
	At *metav1.Time
}

// Link is one object between a workload and the batch Job whose pod
// reports its result; each is controlled by the one before it, the first
// by the workload, so that a look-alike someone else created is never read.
type Link struct {
	GVK  schema.GroupVersionKind
	Name string
}

// Engine is one training engine.
type Engine interface {
	// Backend is the engine's name in the API.
	Backend() lifecyclev1alpha1.TrainingBackend
	// GVK is the kind of its workload.
	GVK() schema.GroupVersionKind
	// New is an empty workload, to read into.
	New() client.Object
	// Progress tells where a workload stands.
	Progress(obj client.Object) Progress
	// ResultPath is the chain from the workload to the Job whose first
	// pod reports the result; empty when the workload is that Job.
	ResultPath(obj client.Object, resultJob string) []Link
}

// For is the engine of a backend; Job for the empty one, as the API
// defaults it.
func For(b lifecyclev1alpha1.TrainingBackend) (Engine, error) {
	switch b {
	case "", lifecyclev1alpha1.BackendJob:
		return jobEngine{}, nil
	case lifecyclev1alpha1.BackendTrainJob:
		return trainJobEngine{}, nil
	case lifecyclev1alpha1.BackendJobSet:
		return jobSetEngine{}, nil
	case lifecyclev1alpha1.BackendRayJob:
		return rayJobEngine{}, nil
	}
	return nil, fmt.Errorf("unknown backend %q", b)
}

// template is what sets a workload engine (all but Job) apart when the
// operator renders it from a team's template.
type template interface {
	Engine
	// decode reads a template's spec strictly, as the engine's API types
	// define it, and checks what the operator needs of it.
	decode(raw []byte) (spec any, err error)
	// pods are the pod templates the spec carries, with their paths.
	pods(spec any) []Pod
	// inject tells the trainer the run's AIPM_* environment.
	inject(spec any, env []corev1.EnvVar)
	// object is the workload of a spec.
	object(meta metav1.ObjectMeta, spec any) client.Object
	// defaultResultContainer is the container that reports when the
	// product names none.
	defaultResultContainer(spec any, resultJob string) string
	// resultPod is the pod template of the result container, nil when
	// the spec does not carry it (a TrainJob's runtime does), an error
	// when the spec names a pod it does not have.
	resultPod(spec any, resultJob string) (*corev1.PodTemplateSpec, error)
}

// Pod is one pod template of a workload.
type Pod struct {
	// Path is where the template is in the workload's spec.
	Path     string
	Template *corev1.PodTemplateSpec
}

// decodeStrict reads raw into out as the API server's strict field
// validation does: an unknown or duplicated field is an error, named.
func decodeStrict(raw []byte, out any) error {
	if len(raw) == 0 {
		return errors.New("spec is empty")
	}
	strict, err := sigsjson.UnmarshalStrict(raw, out)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// jobPod is the pod template of a batch Job template.
func jobPod(path string, tpl *batchv1.JobTemplateSpec) Pod {
	return Pod{Path: path + ".spec.template", Template: &tpl.Spec.Template}
}

// hasContainer reports whether the pod has a container of that name.
func hasContainer(pod *corev1.PodTemplateSpec, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// refuse joins reasons into the RefusedError the retraining policy uses.
func refuse(why []string) error {
	if len(why) == 0 {
		return nil
	}
	return &retrain.RefusedError{Reasons: why}
}

// workloadNameMax leaves room in the names engines derive from a
// workload's: a JobSet's Jobs are <name>-<replicated job>-<index>, and a
// Job's name is a label value, 63 characters at most.
const workloadNameMax = 40

// replicatedJobNameMax is what is left of those 63 for a replicated job.
const replicatedJobNameMax = 63 - workloadNameMax - len("--99")

// WorkloadName is the name of a run's workload: the run's own for a Job,
// at most 40 characters for the engines that name children after it.
func WorkloadName(b lifecyclev1alpha1.TrainingBackend, run string) string {
	if b == "" || b == lifecyclev1alpha1.BackendJob {
		return run
	}
	return serving.Shorten(run, workloadNameMax)
}
