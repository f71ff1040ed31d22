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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// dueTracker remembers, per object, when a periodic evaluation is next due and
// for which generation it was made. It lives in memory: after a restart
// everything is due once, which costs one round of queries and nothing else.
type dueTracker struct {
	mu   sync.Mutex
	next map[types.NamespacedName]dueAt
}

type dueAt struct {
	generation int64
	at         time.Time
}

// due reports whether the evaluation for key is due at now, and if not, how
// long until it is. A new generation is always due.
func (s *dueTracker) due(key types.NamespacedName, generation int64, now time.Time) (bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.next[key]
	if !ok || d.generation != generation || !now.Before(d.at) {
		return true, 0
	}
	return false, d.at.Sub(now)
}

func (s *dueTracker) set(key types.NamespacedName, generation int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		s.next = map[types.NamespacedName]dueAt{}
	}
	s.next[key] = dueAt{generation: generation, at: at}
}

func (s *dueTracker) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.next, key)
}
