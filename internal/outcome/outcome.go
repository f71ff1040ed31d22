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
// Package outcome sorts a reconcile's errors by kind and maps them to what
// the controller does next, in one place for every reconciler:
//   - a conflict on one of the operator's own writes is retried quietly and
//     soon: the object or the cache moved on, and deciding again from the
//     newer copy is all it takes;
//   - a stalling error is a setting that can never work (an invalid
//     schedule, a refused template): the object is marked Stalled and not
//     retried until its spec changes;
//   - anything else is retried with the controller's backoff.
package outcome

import (
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
)

// ConflictRetry is about how soon a reconcile refused by a conflict runs
// again: long enough for the cache to catch up with the write it missed.
const ConflictRetry = 100 * time.Millisecond

// StallingError is an error only a change of the object's spec can fix.
type StallingError struct {
	// Reason is the CamelCase reason the Stalled condition carries.
	Reason string
	Err    error
}

func (e *StallingError) Error() string { return e.Err.Error() }
func (e *StallingError) Unwrap() error { return e.Err }

// Stall marks err as stalling, with reason.
func Stall(reason string, err error) error {
	return &StallingError{Reason: reason, Err: err}
}

// Stalling returns the first stalling error in err's tree, or nil.
func Stalling(err error) *StallingError {
	var s *StallingError
	if errors.As(err, &s) {
		return s
	}
	return nil
}

// OnlyConflicts reports whether err is non-nil and every error joined in
// it is a Conflict from the API server.
func OnlyConflicts(err error) bool {
	if err == nil {
		return false
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !OnlyConflicts(e) {
				return false
			}
		}
		return true
	}
	if apierrors.IsConflict(err) {
		return true
	}
	if u := errors.Unwrap(err); u != nil {
		return OnlyConflicts(u)
	}
	return false
}

// Retriable returns err without its stalling errors: those wait for a
// spec change, not a retry. nil when nothing is left to retry.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var left []error
		for _, e := range j.Unwrap() {
			if r := Retriable(e); r != nil {
				left = append(left, r)
			}
		}
		return errors.Join(left...)
	}
	if Stalling(err) != nil {
		return nil
	}
	return err
}

// Result maps a reconcile's collected error and wanted requeue to what
// controller-runtime should do.
func Result(err error, requeue time.Duration) (ctrl.Result, error) {
	err = Retriable(err)
	switch {
	case err == nil:
		return ctrl.Result{RequeueAfter: requeue}, nil
	case OnlyConflicts(err):
		return ctrl.Result{RequeueAfter: wait.Jitter(ConflictRetry, 1)}, nil
	default:
		return ctrl.Result{}, err
	}
}

// Earliest returns the soonest positive duration, or zero if none is.
func Earliest(ds ...time.Duration) time.Duration {
	var out time.Duration
	for _, d := range ds {
		if d > 0 && (out == 0 || d < out) {
			out = d
		}
	}
	return out
}
