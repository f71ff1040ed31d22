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
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/evaluate"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

// Event reasons of an evaluation.
const (
	EventEvaluationStarted   = "EvaluationStarted"
	EventEvaluationSucceeded = "EvaluationSucceeded"
	EventEvaluationFailed    = "EvaluationFailed"
)

// evaluate runs the version's independent evaluation when its product
// asks for one: it creates the evaluation Job once, follows it, and
// records its result in mv.Status.Evaluation.
func (r *ModelVersionReconciler) evaluate(ctx context.Context, n notify.Notifier, mv *lifecyclev1alpha1.ModelVersion,
	product *lifecyclev1alpha1.AIProduct, now metav1.Time) error {
	spec := evaluationSpec(product)
	// A version evaluated is done for good: nothing to read again.
	if spec == nil || (mv.Status.Evaluation != nil && mv.Status.Evaluation.Phase == lifecyclev1alpha1.EvaluationSucceeded) {
		return nil
	}
	job, err := r.evaluationJob(ctx, mv)
	if err != nil {
		return err
	}
	// A failed evaluation stays failed while its Job is there to say why;
	// deleting the Job asks for another, and a template the policy
	// refused is tried again when the product changes.
	was := mv.Status.Evaluation
	if was != nil && was.Phase == lifecyclev1alpha1.EvaluationFailed && job == nil {
		mv.Status.Evaluation = nil
	}
	// A refusal said again is the same status, not a new one to write.
	refuse := func(st *lifecyclev1alpha1.EvaluationStatus) {
		if was != nil && was.Reason == st.Reason && was.Message == st.Message {
			st = was
		}
		mv.Status.Evaluation = st
	}
	if !evaluate.Needed(spec, mv) {
		return nil
	}
	if job == nil {
		j, err := evaluate.Job(product, mv, r.Policy)
		var refused *retrain.RefusedError
		if errors.As(err, &refused) {
			refuse(&lifecyclev1alpha1.EvaluationStatus{Phase: lifecyclev1alpha1.EvaluationFailed,
				Job: evaluate.JobName(mv), CompletionTime: &now, Reason: evaluate.ReasonTemplateRefused, Message: err.Error()})
			return nil
		}
		if err != nil {
			return err
		}
		if err := controllerutil.SetControllerReference(mv, j, r.Scheme()); err != nil {
			return err
		}
		switch err := r.Create(ctx, j); {
		case err == nil:
			job = j
			n.Event(ctx, mv, false, EventEvaluationStarted, "Evaluate", fmt.Sprintf("Created Job %s to evaluate version %s on %s",
				j.Name, mv.Spec.Version, datasetOf(spec)))
		case apierrors.IsAlreadyExists(err):
			job = &batchv1.Job{}
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(j), job); err != nil {
				return fmt.Errorf("reading evaluation Job %s, which exists: %w", j.Name, err)
			}
		case apierrors.IsInvalid(err) || apierrors.IsForbidden(err):
			refuse(&lifecyclev1alpha1.EvaluationStatus{Phase: lifecyclev1alpha1.EvaluationFailed,
				Job: j.Name, CompletionTime: &now, Reason: evaluate.ReasonTemplateRefused,
				Message: fmt.Sprintf("the API server refused Job %s: %v", j.Name, err)})
			return nil
		default:
			return fmt.Errorf("creating evaluation Job %s: %w", j.Name, err)
		}
	}
	var pods []corev1.Pod
	if retrain.JobCondition(job, batchv1.JobComplete) != nil {
		// Pods are read from the API server: the operator watches none, and
		// reads these once per finished evaluation.
		var list corev1.PodList
		if err := r.APIReader.List(ctx, &list, client.InNamespace(job.Namespace), client.MatchingLabels{retrain.JobNameLabel: job.Name}); err != nil {
			return fmt.Errorf("listing the pods of evaluation Job %s: %w", job.Name, err)
		}
		pods = list.Items
	}
	mv.Status.Evaluation = evaluate.Observe(mv, job, pods, evaluate.ResultContainer(spec, job.Spec.Template.Spec.Containers), now)
	return nil
}

// evaluationJob is the version's evaluation Job, nil when the API server
// holds none. The cache is asked first; only when the status says the Job
// runs and the cache lacks it (just created) does the API server confirm.
func (r *ModelVersionReconciler) evaluationJob(ctx context.Context, mv *lifecyclev1alpha1.ModelVersion) (*batchv1.Job, error) {
	key := client.ObjectKey{Namespace: mv.Namespace, Name: evaluate.JobName(mv)}
	job := &batchv1.Job{}
	err := r.Get(ctx, key, job)
	if err == nil {
		return job, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading evaluation Job %s: %w", key.Name, err)
	}
	if ev := mv.Status.Evaluation; ev == nil || ev.Phase != lifecyclev1alpha1.EvaluationRunning {
		return nil, nil
	}
	switch err := r.APIReader.Get(ctx, key, job); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading evaluation Job %s: %w", key.Name, err)
	}
	return job, nil
}

// evaluationEnded tells of an evaluation's end, given the status the
// version had before its last write.
func evaluationEnded(ctx context.Context, n notify.Notifier, mv *lifecyclev1alpha1.ModelVersion, prev *lifecyclev1alpha1.EvaluationStatus) {
	st := mv.Status.Evaluation
	if st == nil || st.Phase == lifecyclev1alpha1.EvaluationRunning || (prev != nil && prev.Phase == st.Phase && prev.Job == st.Job) {
		return
	}
	metrics.EvaluationFinished(mv.Namespace, string(mv.Spec.Product), st.Phase)
	if st.Phase == lifecyclev1alpha1.EvaluationFailed {
		n.Event(ctx, mv, true, EventEvaluationFailed, "Evaluate", fmt.Sprintf("Evaluation failed (%s): %s", st.Reason, st.Message))
		return
	}
	n.Event(ctx, mv, false, EventEvaluationSucceeded, "Evaluate", st.Message)
}

func datasetOf(spec *lifecyclev1alpha1.EvaluationSpec) string {
	if spec.Dataset == nil || spec.Dataset.URI == "" {
		return "the evaluator's own data"
	}
	return spec.Dataset.URI
}
