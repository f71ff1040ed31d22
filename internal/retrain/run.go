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

package retrain

import (
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// RunJob renders the Job of a RetrainingRun from the template its product
// resolved, or returns a RefusedError. A run is an object anyone allowed
// to create one may write by hand, and the operator creates its Job with
// the operator's own rights, so the template goes through Restrict and
// pol.Check again, as Job's output did, and the labels the operator finds
// its Jobs by are its own, not the template's. The Job is named like the
// run and carries no owner: the caller sets the run as its controller.
func RunJob(run *lifecyclev1alpha1.RetrainingRun, pol Policy) (*batchv1.Job, error) {
	if run.Spec.Template == nil {
		return nil, &RefusedError{Reasons: []string{"a run of backend Job needs spec.template"}}
	}
	tpl := run.Spec.Template.DeepCopy()
	labels := RunLabels(run)
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        run.Name,
			Namespace:   run.Namespace,
			Labels:      Merge(tpl.Labels, labels),
			Annotations: RunWorkloadAnnotations(run, tpl.Annotations),
		},
		Spec: tpl.Spec,
	}

	var why []string
	if err := harden(job, labels, pol); err != nil {
		var refused *RefusedError
		if !errors.As(err, &refused) {
			return nil, err
		}
		why = append(why, refused.Reasons...)
	}
	// A run whose result container is not in its pod could only fail after
	// the training has been paid for.
	if !hasContainer(job, run.Spec.ResultContainer) {
		why = append(why, fmt.Sprintf("resultContainer %q is not a container of the template", run.Spec.ResultContainer))
	}
	if len(why) > 0 {
		return nil, &RefusedError{Reasons: why}
	}
	return job, nil
}

// RunLabels are the labels the operator puts on a run's workload and
// pods, from the run's own spec.
func RunLabels(run *lifecyclev1alpha1.RetrainingRun) map[string]string {
	return Labels(string(run.Spec.Product), Trigger{Kind: run.Spec.Trigger.Kind, Key: run.Spec.Trigger.Key})
}

// RunWorkloadAnnotations are a template's annotations with the run's own
// over them: they tell what the run's spec tells, so that a workload read
// alone says which version it trains, whoever wrote the template.
func RunWorkloadAnnotations(run *lifecyclev1alpha1.RetrainingRun, tpl map[string]string) map[string]string {
	a := Merge(tpl, map[string]string{
		AnnotationTargetVersion: run.Spec.TargetVersion,
		AnnotationTargetName:    VersionName(string(run.Spec.Product), run.Spec.TargetVersion),
		AnnotationTriggerKey:    run.Spec.Trigger.Key,
	})
	delete(a, AnnotationParentVersion)
	if run.Spec.ParentVersion != "" {
		a[AnnotationParentVersion] = run.Spec.ParentVersion
	}
	return a
}

func hasContainer(job *batchv1.Job, name string) bool {
	for _, c := range job.Spec.Template.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}
