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
package outcome

import (
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestResult(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "deployments"}, "x", errors.New("changed"))
	stall := Stall("InvalidSchedule", errors.New("bad cron"))
	other := errors.New("refused")
	tests := []struct {
		name      string
		err       error
		requeue   time.Duration
		wantErr   bool
		wantSoon  bool
		wantAfter time.Duration
	}{
		{"nothing wrong waits as asked", nil, time.Minute, false, false, time.Minute},
		{"a conflict retries soon, without an error", conflict, time.Minute, false, true, 0},
		{"a wrapped conflict too", fmt.Errorf("setting stage: %w", conflict), 0, false, true, 0},
		{"joined conflicts too", errors.Join(conflict, fmt.Errorf("x: %w", conflict)), 0, false, true, 0},
		{"a conflict beside another error backs off", errors.Join(conflict, other), 0, true, false, 0},
		{"a stalling error is not retried", stall, time.Minute, false, false, time.Minute},
		{"a stall beside a conflict retries the conflict", errors.Join(stall, conflict), 0, false, true, 0},
		{"a stall beside an error backs off for the error", errors.Join(stall, other), 0, true, false, 0},
		{"an error backs off", other, time.Minute, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Result(tt.err, tt.requeue)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantSoon {
				if res.RequeueAfter < ConflictRetry || res.RequeueAfter > 2*ConflictRetry {
					t.Errorf("RequeueAfter = %v, want within [%v, %v]", res.RequeueAfter, ConflictRetry, 2*ConflictRetry)
				}
				return
			}
			if res.RequeueAfter != tt.wantAfter {
				t.Errorf("RequeueAfter = %v, want %v", res.RequeueAfter, tt.wantAfter)
			}
		})
	}
}

func TestStalling(t *testing.T) {
	err := errors.Join(errors.New("a"), fmt.Errorf("retraining: %w", Stall("InvalidSchedule", errors.New("bad"))))
	s := Stalling(err)
	if s == nil || s.Reason != "InvalidSchedule" {
		t.Fatalf("Stalling = %v, want the InvalidSchedule error", s)
	}
	if Stalling(errors.New("plain")) != nil {
		t.Error("a plain error is not stalling")
	}
}

func TestEarliest(t *testing.T) {
	if got := Earliest(0, 3*time.Second, -1, time.Second); got != time.Second {
		t.Errorf("Earliest = %v, want 1s", got)
	}
	if got := Earliest(0, 0); got != 0 {
		t.Errorf("Earliest of nothing = %v, want 0", got)
	}
}
