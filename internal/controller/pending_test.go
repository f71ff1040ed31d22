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
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestPendingOverlaysWhatTheCacheHasNotShown(t *testing.T) {
	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "p-uid"}}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "q", UID: "q-uid"}}
	dep := func(name string, uid types.UID, by *corev1.ConfigMap) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid,
			OwnerReferences: []metav1.OwnerReference{{Name: by.Name, UID: by.UID, Controller: ptr.To(true)}}}}
	}
	names := func(ds []*appsv1.Deployment) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Name)
		}
		slices.Sort(out)
		return out
	}
	t0 := time.Unix(1000, 0)
	stable, canary, foreign := dep("stable", "s", owner), dep("canary", "c", owner), dep("foreign", "f", other)

	tests := []struct {
		name  string
		have  []*appsv1.Deployment // what the cache showed the sync
		out   []*appsv1.Deployment // what the sync kept
		cache []*appsv1.Deployment // what the cache shows the next reconcile
		after time.Duration
		want  []string
	}{
		{"a create the cache has not shown is added", []*appsv1.Deployment{stable}, []*appsv1.Deployment{stable, canary},
			[]*appsv1.Deployment{stable}, time.Second, []string{"canary", "stable"}},
		{"a create the cache shows is its", []*appsv1.Deployment{stable}, []*appsv1.Deployment{stable, canary},
			[]*appsv1.Deployment{stable, canary}, time.Second, []string{"canary", "stable"}},
		{"a delete the cache still shows is left out", []*appsv1.Deployment{stable, canary}, []*appsv1.Deployment{canary},
			[]*appsv1.Deployment{stable, canary}, time.Second, []string{"canary"}},
		{"an object another owner controls is not taken as deleted", []*appsv1.Deployment{stable, foreign}, []*appsv1.Deployment{stable},
			[]*appsv1.Deployment{stable, foreign}, time.Second, []string{"foreign", "stable"}},
		{"a create the cache never shows is forgotten", []*appsv1.Deployment{stable}, []*appsv1.Deployment{stable, canary},
			[]*appsv1.Deployment{stable}, pendingFor, []string{"stable"}},
		{"a delete the cache keeps showing is forgotten", []*appsv1.Deployment{stable, canary}, []*appsv1.Deployment{canary},
			[]*appsv1.Deployment{stable, canary}, pendingFor, []string{"canary", "stable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pd pending
			out := map[string]*appsv1.Deployment{}
			for _, d := range tt.out {
				out[d.Name] = d
			}
			note(&pd, owner, tt.have, out, t0)
			got := overlay(&pd, types.NamespacedName{Namespace: "ns", Name: "p"}, tt.cache, t0.Add(tt.after))
			if !slices.Equal(names(got), tt.want) {
				t.Errorf("overlay = %v, want %v", names(got), tt.want)
			}
			// Once the cache has caught up, nothing is left to correct it.
			if tt.after < pendingFor {
				caught := append([]*appsv1.Deployment{}, tt.out...)
				if slices.Contains(tt.have, foreign) {
					caught = append(caught, foreign)
				}
				overlay(&pd, types.NamespacedName{Namespace: "ns", Name: "p"}, caught, t0.Add(tt.after))
			}
			if len(pd.products) != 0 {
				t.Errorf("still pending: %+v", pd.products)
			}
		})
	}

	// Another product's changes and another kind's stay apart.
	var pd pending
	note(&pd, owner, nil, map[string]*appsv1.Deployment{"canary": canary}, t0)
	if got := overlay(&pd, types.NamespacedName{Namespace: "ns", Name: "q"}, []*appsv1.Deployment{}, t0); len(got) != 0 {
		t.Errorf("product q sees %v", names(got))
	}
	if got := overlay(&pd, types.NamespacedName{Namespace: "ns", Name: "p"}, []*corev1.Service{}, t0); len(got) != 0 {
		t.Errorf("the Services see %d objects", len(got))
	}
}
