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

package memlimit

import (
	"testing"
	"testing/fstest"
)

func TestContainer(t *testing.T) {
	file := func(name, body string) fstest.MapFS {
		return fstest.MapFS{name: &fstest.MapFile{Data: []byte(body)}}
	}
	const v2, v1 = "sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    int64
		wantErr bool
	}{
		{"cgroup v2 limit", file(v2, "268435456\n"), 268435456, false},
		{"cgroup v2 without a limit", file(v2, "max\n"), 0, false},
		{"cgroup v1 limit", file(v1, "536870912\n"), 536870912, false},
		{"cgroup v1 without a limit", file(v1, "9223372036854771712\n"), 0, false},
		{"no cgroup file at all", fstest.MapFS{}, 0, false},
		{"v2 is read before v1", fstest.MapFS{v2: {Data: []byte("100\n")}, v1: {Data: []byte("200\n")}}, 100, false},
		{"garbage is an error, not no limit", file(v2, "lots\n"), 0, true},
		{"zero is no limit", file(v1, "0"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Container(tt.fsys)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Container() = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSoftLeavesHeadroom(t *testing.T) {
	const mi = 1 << 20
	tests := []struct {
		name            string
		container, want int64
	}{
		{"no limit", 0, 0},
		{"256Mi keeps back the reserve", 256 * mi, 192 * mi},
		{"512Mi keeps back the reserve", 512 * mi, 448 * mi},
		{"1000Mi keeps back a tenth", 1000 * mi, 900 * mi},
		{"100Mi keeps at least half", 100 * mi, 50 * mi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Soft(tt.container); got != tt.want {
				t.Fatalf("Soft(%d MiB) = %d MiB, want %d MiB", tt.container/mi, got/mi, tt.want/mi)
			}
		})
	}
}
