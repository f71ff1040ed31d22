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

// Package evaluate renders the Job that evaluates a ModelVersion
// independently of its trainer, and decides, from that Job and its pods,
// what the version's evaluation status says. The Job's name derives from
// the version's UID alone, so that a restart, a requeue or a second
// replica asks for the same Job and the API server refuses a duplicate;
// a version deleted and registered again is a new model and is evaluated
// again.
package evaluate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// LabelEvaluation marks evaluation Jobs and their pods, apart from
// retraining Jobs.
const LabelEvaluation = "lifecycle.aipm.io/evaluation"

// Environment variables the evaluator receives.
const (
	EnvProduct         = "AIPM_PRODUCT"
	EnvNamespace       = "AIPM_NAMESPACE"
	EnvModelVersion    = "AIPM_MODEL_VERSION"
	EnvVersion         = "AIPM_VERSION"
	EnvModelURI        = "AIPM_MODEL_URI"
	EnvModelDigest     = "AIPM_MODEL_DIGEST"
	EnvModelFormat     = "AIPM_MODEL_FORMAT"
	EnvDatasetURI      = "AIPM_DATASET_URI"
	EnvDatasetDigest   = "AIPM_DATASET_DIGEST"
	EnvResultContainer = "AIPM_RESULT_CONTAINER"
)

// Reasons of a failed evaluation.
const (
	ReasonJobFailed       = "JobFailed"
	ReasonResultUnusable  = "ResultUnusable"
	ReasonTemplateRefused = "TemplateRefused"
	ReasonJobTaken        = "JobTaken"
)

// DefaultTimeoutSeconds is spec.delivery.evaluation.timeout when unset.
const DefaultTimeoutSeconds = 30 * 60

// JobName is the one name the evaluation Job of mv can have.
func JobName(mv *lifecyclev1alpha1.ModelVersion) string {
	sum := sha256.Sum256([]byte(mv.Namespace + "/" + mv.Name + "/" + string(mv.UID)))
	suffix := "-eval-" + hex.EncodeToString(sum[:])[:10]
	// Job names become a pod label value: 63 characters at most.
	prefix := mv.Name
	if max := 63 - len(suffix); len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], "-.")
	}
	return prefix + suffix
}

// Needed reports whether mv should be evaluated under spec: a version on
// its way to production, not yet evaluated. A Failed evaluation stays
// failed until its Job is deleted (Rerun).
func Needed(spec *lifecyclev1alpha1.EvaluationSpec, mv *lifecyclev1alpha1.ModelVersion) bool {
	if spec == nil {
		return false
	}
	switch mv.Status.Stage {
	case lifecyclev1alpha1.StageArchived, lifecyclev1alpha1.StageRejected:
		return mv.Status.Evaluation != nil && mv.Status.Evaluation.Phase == lifecyclev1alpha1.EvaluationRunning
	}
	return mv.Status.Evaluation == nil || mv.Status.Evaluation.Phase == lifecyclev1alpha1.EvaluationRunning
}

// Job renders the evaluation Job of mv from the product's template,
// hardened as a retraining Job is, or returns a retrain.RefusedError.
func Job(p *lifecyclev1alpha1.AIProduct, mv *lifecyclev1alpha1.ModelVersion, pol retrain.Policy) (*batchv1.Job, error) {
	spec := p.Spec.Delivery.Evaluation
	tpl := spec.Template.DeepCopy()
	labels := map[string]string{
		lifecyclev1alpha1.LabelProduct: p.Name,
		serving.LabelManagedBy:         serving.ManagedBy,
		LabelEvaluation:                "true",
	}
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        JobName(mv),
			Namespace:   mv.Namespace,
			Labels:      retrain.Merge(tpl.Labels, labels),
			Annotations: retrain.Merge(tpl.Annotations, map[string]string{retrain.AnnotationTargetName: mv.Name}),
		},
		Spec: tpl.Spec,
	}
	timeout := int64(spec.Timeout.Seconds())
	if timeout <= 0 {
		timeout = DefaultTimeoutSeconds
	}
	// The deadline is the operator's, not the template's: a template
	// cannot give an evaluation longer than the product allows.
	job.Spec.ActiveDeadlineSeconds = &timeout
	if err := retrain.Harden(job, labels, pol); err != nil {
		return nil, err
	}
	pod := &job.Spec.Template
	result := ResultContainer(spec, pod.Spec.Containers)
	if !hasContainer(pod.Spec.Containers, result) {
		return nil, &retrain.RefusedError{Reasons: []string{fmt.Sprintf("resultContainer %q is not a container of the template", result)}}
	}
	env := []corev1.EnvVar{
		{Name: EnvProduct, Value: p.Name},
		{Name: EnvNamespace, Value: mv.Namespace},
		{Name: EnvModelVersion, Value: mv.Name},
		{Name: EnvVersion, Value: mv.Spec.Version},
		{Name: EnvModelURI, Value: mv.Spec.Artifact.URI},
		{Name: EnvModelDigest, Value: mv.Spec.Artifact.Digest},
		{Name: EnvModelFormat, Value: string(mv.Spec.Artifact.Format)},
		{Name: EnvDatasetURI, Value: datasetField(spec.Dataset, func(d *lifecyclev1alpha1.Dataset) string { return d.URI })},
		{Name: EnvDatasetDigest, Value: datasetField(spec.Dataset, func(d *lifecyclev1alpha1.Dataset) string { return d.Digest })},
		{Name: EnvResultContainer, Value: result},
	}
	for i := range pod.Spec.InitContainers {
		pod.Spec.InitContainers[i].Env = append(pod.Spec.InitContainers[i].Env, env...)
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		c.Env = append(c.Env, env...)
		if c.Name == result && c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
	}
	return job, nil
}

// ResultContainer is the container whose termination message carries the
// evaluation's result: spec.resultContainer, or the first one.
func ResultContainer(spec *lifecyclev1alpha1.EvaluationSpec, containers []corev1.Container) string {
	if spec.ResultContainer != "" {
		return spec.ResultContainer
	}
	if len(containers) > 0 {
		return containers[0].Name
	}
	return ""
}

func datasetField(d *lifecyclev1alpha1.Dataset, f func(*lifecyclev1alpha1.Dataset) string) string {
	if d == nil {
		return ""
	}
	return f(d)
}

func hasContainer(cs []corev1.Container, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Observe is the evaluation status of mv given its Job as the API server
// holds it (nil when there is none) and the Job's pods. A Job of the
// name not controlled by mv is someone else's, and its result is never
// read.
func Observe(mv *lifecyclev1alpha1.ModelVersion, job *batchv1.Job, pods []corev1.Pod, container string,
	now metav1.Time) *lifecyclev1alpha1.EvaluationStatus {
	st := &lifecyclev1alpha1.EvaluationStatus{Phase: lifecyclev1alpha1.EvaluationRunning, Job: JobName(mv), StartTime: &now}
	if prev := mv.Status.Evaluation; prev != nil && prev.StartTime != nil && prev.Job == st.Job {
		st.StartTime = prev.StartTime
	}
	if job == nil {
		return st
	}
	if !job.CreationTimestamp.IsZero() {
		st.StartTime = job.CreationTimestamp.DeepCopy()
	}
	fail := func(reason, format string, args ...any) *lifecyclev1alpha1.EvaluationStatus {
		st.Phase, st.Reason, st.Message, st.CompletionTime = lifecyclev1alpha1.EvaluationFailed, reason, fmt.Sprintf(format, args...), &now
		return st
	}
	if !metav1.IsControlledBy(job, mv) {
		return fail(ReasonJobTaken, "Job %s already exists and is not controlled by this version", job.Name)
	}
	if c := retrain.JobCondition(job, batchv1.JobFailed); c != nil {
		why := c.Reason
		if c.Message != "" {
			why = strings.TrimPrefix(why+": "+c.Message, ": ")
		}
		if why == "" {
			why = "the Job controller gave no reason"
		}
		return fail(ReasonJobFailed, "evaluation Job %s failed: %s", job.Name, why)
	}
	if retrain.JobCondition(job, batchv1.JobComplete) == nil {
		return st
	}
	res, err := retrain.ParseEvaluation(retrain.TerminationMessage(job, container, pods))
	if err != nil {
		return fail(ReasonResultUnusable, "the result of evaluation Job %s (container %s) is unusable: %v", job.Name, container, err)
	}
	st.Phase, st.CompletionTime, st.Metrics = lifecyclev1alpha1.EvaluationSucceeded, &now, res.List()
	st.Message = fmt.Sprintf("evaluation Job %s reported %d metrics", job.Name, len(st.Metrics))
	return st
}

// Judged is the metrics the promotion policy of a product with an
// evaluation judges for mv, and why there are none: the evaluated ones,
// once the evaluation succeeded.
func Judged(mv *lifecyclev1alpha1.ModelVersion) (metrics []lifecyclev1alpha1.EvaluationMetric, reason, message string) {
	ev := mv.Status.Evaluation
	switch {
	case ev == nil:
		return nil, lifecyclev1alpha1.ReasonEvaluationPending, "waiting for the independent evaluation to start"
	case ev.Phase == lifecyclev1alpha1.EvaluationRunning:
		return nil, lifecyclev1alpha1.ReasonEvaluationPending, "waiting for the independent evaluation, Job " + ev.Job
	case ev.Phase == lifecyclev1alpha1.EvaluationFailed:
		return nil, lifecyclev1alpha1.ReasonEvaluationFailed, ev.Message
	}
	return ev.Metrics, "", ""
}
