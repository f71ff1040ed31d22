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
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

// workloadEngine is the template engine of a backend other than Job.
func workloadEngine(b lifecyclev1alpha1.TrainingBackend) (template, error) {
	e, err := For(b)
	if err != nil {
		return nil, err
	}
	t, ok := e.(template)
	if !ok {
		return nil, fmt.Errorf("backend %s takes a Job template, not a workload", b)
	}
	return t, nil
}

// TemplateField is the field of spec.delivery.retraining that holds a
// backend's template: template, trainJob, jobSet or rayJob.
func TemplateField(b lifecyclev1alpha1.TrainingBackend) string {
	if b == "" || b == lifecyclev1alpha1.BackendJob {
		return "template"
	}
	return strings.ToLower(string(b[:1])) + string(b[1:])
}

// TemplateOf is the product's template for its backend, nil for Job.
func TemplateOf(spec *lifecyclev1alpha1.RetrainingSpec) *lifecyclev1alpha1.WorkloadTemplate {
	switch spec.Backend {
	case lifecyclev1alpha1.BackendTrainJob:
		return spec.TrainJob
	case lifecyclev1alpha1.BackendJobSet:
		return spec.JobSet
	case lifecyclev1alpha1.BackendRayJob:
		return spec.RayJob
	}
	return nil
}

// Validate decodes a product's workload template as its engine's API
// does, and checks what the operator needs of it: the admission webhook's
// check, so that a template no engine would take is refused when written.
func Validate(b lifecyclev1alpha1.TrainingBackend, tpl *lifecyclev1alpha1.WorkloadTemplate, resultContainer, resultJob string) error {
	t, err := workloadEngine(b)
	if err != nil {
		return err
	}
	spec, err := t.decode(tpl.Spec.Raw)
	if err != nil {
		return err
	}
	return checkResult(t, spec, resultContainer, resultJob)
}

// checkResult: a run whose result container is not in its pod could only
// fail after the training has been paid for.
func checkResult(t template, spec any, resultContainer, resultJob string) error {
	pod, err := t.resultPod(spec, resultJob)
	if pod == nil || err != nil {
		return err
	}
	c := resultContainer
	if c == "" {
		c = t.defaultResultContainer(spec, resultJob)
	}
	if !hasContainer(pod, c) {
		return fmt.Errorf("resultContainer %q is not a container of the pod that reports the result", c)
	}
	return nil
}

// Admit checks a product's workload template as Job templates are
// checked: every pod template it carries, rendered as a run renders it,
// against the retraining policy. A TrainJob's pods come from its runtime,
// which a run checks when it starts (Build); here what the TrainJob itself
// asks for (ServiceAccount, volumes) is checked.
func Admit(b lifecyclev1alpha1.TrainingBackend, tpl *lifecyclev1alpha1.WorkloadTemplate, pol retrain.Policy) error {
	return named(b, admit(b, tpl, pol))
}

func admit(b lifecyclev1alpha1.TrainingBackend, tpl *lifecyclev1alpha1.WorkloadTemplate, pol retrain.Policy) error {
	t, err := workloadEngine(b)
	if err != nil {
		return err
	}
	spec, err := t.decode(tpl.Spec.Raw)
	if err != nil {
		return &retrain.RefusedError{Reasons: []string{fmt.Sprintf("the %s template is not a valid %s: %v", b, b, err)}}
	}
	return checkPods(t.pods(spec), pol, true)
}

// checkPods restricts (when restrict) and checks each pod, naming the
// path of each refusal.
func checkPods(pods []Pod, pol retrain.Policy, restrict bool) error {
	var why []string
	for _, p := range pods {
		if restrict {
			retrain.Restrict(&p.Template.Spec)
		}
		if err := pol.Check(p.Template); err != nil {
			var refused *retrain.RefusedError
			if !errors.As(err, &refused) {
				return err
			}
			for _, r := range refused.Reasons {
				why = append(why, p.Path+": "+r)
			}
		}
	}
	return refuse(why)
}

// Resolved is a product's workload template resolved for one run.
type Resolved struct {
	Workload        *lifecyclev1alpha1.WorkloadTemplate
	ResultContainer string
}

// Resolve renders a product's workload template for one run: its pods
// hardened and checked, every trainer told the run's AIPM_* environment,
// the operator's labels and annotations on the workload and its pods. It
// is what the run records; Build makes the workload from it.
func Resolve(b lifecyclev1alpha1.TrainingBackend, tpl *lifecyclev1alpha1.WorkloadTemplate, labels, annotations map[string]string,
	env func(resultContainer string) []corev1.EnvVar, resultContainer, resultJob string, pol retrain.Policy) (*Resolved, error) {
	res, err := resolve(b, tpl, labels, annotations, env, resultContainer, resultJob, pol)
	return res, named(b, err)
}

func resolve(b lifecyclev1alpha1.TrainingBackend, tpl *lifecyclev1alpha1.WorkloadTemplate, labels, annotations map[string]string,
	env func(resultContainer string) []corev1.EnvVar, resultContainer, resultJob string, pol retrain.Policy) (*Resolved, error) {
	t, err := workloadEngine(b)
	if err != nil {
		return nil, err
	}
	spec, err := t.decode(tpl.Spec.Raw)
	if err != nil {
		return nil, &retrain.RefusedError{Reasons: []string{fmt.Sprintf("the %s template is not a valid %s: %v", b, b, err)}}
	}
	if err := checkResult(t, spec, resultContainer, resultJob); err != nil {
		return nil, &retrain.RefusedError{Reasons: []string{err.Error()}}
	}
	if resultContainer == "" {
		resultContainer = t.defaultResultContainer(spec, resultJob)
	}
	pods := t.pods(spec)
	if err := checkPods(pods, pol, true); err != nil {
		return nil, err
	}
	for _, p := range pods {
		p.Template.Labels = retrain.Merge(p.Template.Labels, labels)
	}
	t.inject(spec, env(resultContainer))
	if pod, _ := t.resultPod(spec, resultJob); pod != nil {
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			if c.Name == resultContainer && c.TerminationMessagePolicy == "" {
				c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
			}
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return &Resolved{
		Workload: &lifecyclev1alpha1.WorkloadTemplate{
			Metadata: lifecyclev1alpha1.WorkloadMetadata{
				Labels:      retrain.Merge(tpl.Metadata.Labels, labels),
				Annotations: retrain.Merge(tpl.Metadata.Annotations, annotations),
			},
			Spec: runtime.RawExtension{Raw: raw},
		},
		ResultContainer: resultContainer,
	}, nil
}

// RuntimeReader reads what a TrainJob's pods come from: its training
// runtime. Only the TrainJob engine calls it.
type RuntimeReader func(ref RuntimeRef) (*RuntimeTemplate, error)

// Build makes the workload of a run from the template it recorded, or
// returns a RefusedError. A run is an object anyone allowed to create one
// may write by hand, and the operator creates its workload with its own
// rights, so every pod goes through Restrict and the policy again, and the
// labels the operator finds its workloads by are its own. For a TrainJob,
// whose pods its runtime describes, the runtime's pods, as the TrainJob
// overrides them, are checked as they are: the operator cannot harden a
// runtime it does not own. The workload carries no owner: the caller sets
// the run as its controller.
func Build(run *lifecyclev1alpha1.RetrainingRun, name string, pol retrain.Policy, runtimes RuntimeReader) (client.Object, error) {
	obj, err := build(run, name, pol, runtimes)
	return obj, named(run.Spec.Backend, err)
}

// named says which engine's template a refusal is about.
func named(b lifecyclev1alpha1.TrainingBackend, err error) error {
	var refused *retrain.RefusedError
	if errors.As(err, &refused) && refused.Template == "" {
		refused.Template = string(b) + " template"
	}
	return err
}

func build(run *lifecyclev1alpha1.RetrainingRun, name string, pol retrain.Policy, runtimes RuntimeReader) (client.Object, error) {
	labels := retrain.RunLabels(run)
	t, err := workloadEngine(run.Spec.Backend)
	if err != nil {
		return nil, err
	}
	w := run.Spec.Workload
	if w == nil {
		return nil, &retrain.RefusedError{Reasons: []string{"the run has no workload"}}
	}
	spec, err := t.decode(w.Spec.Raw)
	if err != nil {
		return nil, &retrain.RefusedError{Reasons: []string{fmt.Sprintf("the workload is not a valid %s: %v", run.Spec.Backend, err)}}
	}
	if err := checkResult(t, spec, run.Spec.ResultContainer, run.Spec.ResultJob); err != nil {
		return nil, &retrain.RefusedError{Reasons: []string{err.Error()}}
	}
	pods := t.pods(spec)
	if err := checkPods(pods, pol, true); err != nil {
		return nil, err
	}
	for _, p := range pods {
		p.Template.Labels = retrain.Merge(p.Template.Labels, labels)
	}
	if tj, ok := t.(trainJobEngine); ok {
		if err := tj.checkRuntime(spec, run.Namespace, run.Spec.ResultContainer, pol, runtimes); err != nil {
			return nil, err
		}
	}
	return t.object(metav1.ObjectMeta{
		Name:        name,
		Namespace:   run.Namespace,
		Labels:      retrain.Merge(w.Metadata.Labels, labels),
		Annotations: retrain.RunWorkloadAnnotations(run, w.Metadata.Annotations),
	}, spec), nil
}
