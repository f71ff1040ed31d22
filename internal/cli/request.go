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

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Requests are the requests a person makes of a product, by the name the
// plugin gives them, and the annotation that carries each.
var Requests = map[string]string{
	"promote": lifecyclev1alpha1.AnnotationPromote,
	"abort":   lifecyclev1alpha1.AnnotationAbort,
	"retry":   lifecyclev1alpha1.AnnotationRetry,
	"retrain": lifecyclev1alpha1.AnnotationRetrain,
}

// RequestNames are the names of Requests, sorted.
func RequestNames() []string {
	names := make([]string, 0, len(Requests))
	for n := range Requests {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// FieldManager names the plugin in the product's managedFields.
const FieldManager = "kubectl-aipm"

// Request asks the operator to act on the product namespace/name: it sets
// the request's annotation to value, or to the current time in UTC when
// value is empty, as the Argo CD actions do. The operator acts once per
// value and removes the annotation; a retrain value names the run, so a
// value used before is refused. The patch is a merge patch of that one
// annotation, so nothing else of the product is touched.
func Request(ctx context.Context, c client.Client, namespace, name, request, value string, now time.Time) (string, error) {
	annotation, ok := Requests[request]
	if !ok {
		return "", fmt.Errorf("unknown request %q: want one of %s", request, strings.Join(RequestNames(), ", "))
	}
	if value == "" {
		value = now.UTC().Format(time.RFC3339)
	}
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{annotation: value}}})
	if err != nil {
		return "", err
	}
	p := &lifecyclev1alpha1.AIProduct{}
	p.Namespace, p.Name = namespace, name
	if err := c.Patch(ctx, p, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldManager)); err != nil {
		return "", err
	}
	return fmt.Sprintf("aiproduct.lifecycle.aipm.io/%s: %s=%s", name, annotation, value), nil
}
