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

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// writeStatus updates obj's status subresource under obj's resourceVersion
// with w, or through c when the reconciler was built without one (the unit
// tests' fake clients).
func writeStatus(ctx context.Context, w statuswrite.Writer, c client.Client, obj client.Object) error {
	if w == nil {
		w = statuswrite.Client{Client: c}
	}
	return w.Update(ctx, obj)
}
