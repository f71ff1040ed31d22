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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// runOf is the RetrainingRun the product reconciler makes of a rendered
// Job: the Job's labels, annotations and spec become the run's template.
func runOf(job *batchv1.Job, t Trigger, target, parent string) *lifecyclev1alpha1.RetrainingRun {
	return &lifecyclev1alpha1.RetrainingRun{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name, Namespace: job.Namespace},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{
			Product:         lifecyclev1alpha1.LocalObjectName(job.Labels[lifecyclev1alpha1.LabelProduct]),
			Trigger:         lifecyclev1alpha1.RunTrigger{Kind: t.Kind, Key: t.Key},
			TargetVersion:   target,
			ParentVersion:   parent,
			ResultContainer: "train",
			Template: &batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: job.Labels, Annotations: job.Annotations},
				Spec:       job.Spec,
			},
		},
	}
}

// TestRunJobOfARenderedJob: a run made from Job's output renders that same
// Job again; checking it twice changes nothing.
func TestRunJobOfARenderedJob(t *testing.T) {
	pod := trainer()
	pod.Spec.InitContainers = []corev1.Container{{Name: "fetch", Image: "fetch:1"}}
	p := productWith(pod)
	p.Spec.Delivery.Retraining.Template.Labels = map[string]string{"team": "ml"}
	parent := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "churn-v1-0-0"},
		Spec: lifecyclev1alpha1.ModelVersionSpec{Artifact: lifecyclev1alpha1.Artifact{URI: "s3://m/1.0.0"}}}
	tr := Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1700000000"}
	want, err := Job(p, Run{Name: JobName(p.Name, tr), Trigger: tr, Parent: parent, TargetVersion: "1.0.1"}, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := RunJob(runOf(want, tr, "1.0.1", parent.Name), Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RunJob differs from the Job its run was made of (-want +got):\n%s", diff)
	}
}

// TestRunJobOfAHandWrittenRun: a template written by hand is hardened, and
// carries the operator's labels and the run's annotations whatever it says.
func TestRunJobOfAHandWrittenRun(t *testing.T) {
	run := &lifecyclev1alpha1.RetrainingRun{
		ObjectMeta: metav1.ObjectMeta{Name: "churn-manual-x", Namespace: "ml"},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{
			Product:         "churn",
			Trigger:         lifecyclev1alpha1.RunTrigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "ticket-1"},
			TargetVersion:   "2.0.0",
			ResultContainer: "train",
			Template: &batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: map[string]string{serving.LabelManagedBy: "someone-else", lifecyclev1alpha1.LabelProduct: "other",
						"team": "ml"},
					Annotations: map[string]string{AnnotationParentVersion: "other-v9-0-0", AnnotationTargetVersion: "9.0.0"},
				},
				Spec: batchv1.JobSpec{Template: trainer()},
			},
		},
	}
	job, err := RunJob(run, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Name != run.Name || job.Namespace != run.Namespace {
		t.Errorf("Job %s/%s, want the run's name", job.Namespace, job.Name)
	}
	wantLabels := map[string]string{serving.LabelManagedBy: serving.ManagedBy, lifecyclev1alpha1.LabelProduct: "churn",
		LabelTrigger: "Manual", "team": "ml"}
	if diff := cmp.Diff(wantLabels, job.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	for k, v := range wantLabels {
		if k == "team" {
			continue // the Job's own label, not its pods'
		}
		if job.Spec.Template.Labels[k] != v {
			t.Errorf("pod label %s = %q, want %q", k, job.Spec.Template.Labels[k], v)
		}
	}
	wantAnn := map[string]string{AnnotationTargetVersion: "2.0.0", AnnotationTargetName: "churn-v2-0-0",
		AnnotationTriggerKey: "ticket-1"}
	if diff := cmp.Diff(wantAnn, job.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	spec := job.Spec.Template.Spec
	if spec.RestartPolicy != corev1.RestartPolicyNever || spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("pod not hardened: %+v", spec)
	}
	if err := (Policy{}).Check(&job.Spec.Template); err != nil {
		t.Errorf("the rendered pod fails its own check: %v", err)
	}
	if run.Spec.Template.Spec.Template.Spec.SecurityContext != nil || run.Spec.Template.Labels[serving.LabelManagedBy] != "someone-else" {
		t.Error("rendering changed the run's template")
	}
}

func TestRunJobRefuses(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		edit func(*lifecyclev1alpha1.RetrainingRun)
		want []string
	}{
		{"a privileged container", func(r *lifecyclev1alpha1.RetrainingRun) {
			r.Spec.Template.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}, []string{"privileged"}},
		{"a ServiceAccount not allowed", func(r *lifecyclev1alpha1.RetrainingRun) {
			r.Spec.Template.Spec.Template.Spec.ServiceAccountName = "namespace-admin"
		}, []string{`serviceAccountName "namespace-admin" is not one the operator allows`}},
		{"a result container not in the pod", func(r *lifecyclev1alpha1.RetrainingRun) {
			r.Spec.ResultContainer = "evaluate"
		}, []string{`resultContainer "evaluate" is not a container of the template`}},
		{"everything at once", func(r *lifecyclev1alpha1.RetrainingRun) {
			r.Spec.Template.Spec.Template.Spec.HostNetwork = true
			r.Spec.ResultContainer = "evaluate"
		}, []string{"hostNetwork=true", `resultContainer "evaluate"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &lifecyclev1alpha1.RetrainingRun{
				ObjectMeta: metav1.ObjectMeta{Name: "churn-manual-x", Namespace: "ml"},
				Spec: lifecyclev1alpha1.RetrainingRunSpec{Product: "churn", TargetVersion: "0.1.0", ResultContainer: "train",
					Trigger:  lifecyclev1alpha1.RunTrigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "1"},
					Template: &batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: trainer()}}},
			}
			tt.edit(run)
			job, err := RunJob(run, Policy{})
			var refused *RefusedError
			if !errors.As(err, &refused) || job != nil {
				t.Fatalf("RunJob = %v, %v; want a refusal", job, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q does not say %q", err, w)
				}
			}
		})
	}
}
