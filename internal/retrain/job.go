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
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// JobNameLabel is the label the Job controller puts on a Job's pods.
const JobNameLabel = "batch.kubernetes.io/job-name"

// JobCondition is the Job's condition of typ when it is True: Complete and
// Failed are final, the Job controller's last word.
func JobCondition(job *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// CompletionIndexLabel is the label the Job controller puts on each pod of
// an Indexed Job: its completion index, the rank of a distributed trainer.
const CompletionIndexLabel = "batch.kubernetes.io/job-completion-index"

// TerminationMessage is the result container's termination message in the
// newest succeeded pod the Job controls, "" when there is none; of an
// Indexed Job, only pods of index 0 (rank 0) count, the one that reports
// for a distributed training. Only the Job's own pods count: anyone who
// may create a pod could label one with the Job's name and report a result
// of their choosing.
func TerminationMessage(job *batchv1.Job, container string, pods []corev1.Pod) string {
	var ok []*corev1.Pod
	for i := range pods {
		if idx, indexed := pods[i].Labels[CompletionIndexLabel]; indexed && idx != "0" {
			continue
		}
		if pods[i].Status.Phase == corev1.PodSucceeded && metav1.IsControlledBy(&pods[i], job) {
			ok = append(ok, &pods[i])
		}
	}
	sort.SliceStable(ok, func(i, j int) bool {
		return ok[j].CreationTimestamp.Before(&ok[i].CreationTimestamp)
	})
	for _, pod := range ok {
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == container && cs.State.Terminated != nil {
				return cs.State.Terminated.Message
			}
		}
	}
	return ""
}
