#!/usr/bin/env bash
# Coverage-guided fuzzing of serve's request handling (Server.Answer) with SharpFuzz and AFL++, outside CI:
#   bash tools/fuzz.sh [MINUTES]      (default 10)
# Installs what is missing (Debian's afl++, the SharpFuzz.CommandLine tool 2.3.0 under tools/fuzz/.tools),
# publishes tools/fuzz/GradOracle.Fuzz to a fresh folder, instruments its GradOracle.dll, runs one afl-fuzz
# instance for MINUTES on the seeds in tools/fuzz/corpus and prints the run's figures and findings.
# Output: tools/fuzz/out/findings (the previous run's is kept as tools/fuzz/out/findings.previous).
# A crash is an input one of whose lines made Server.Answer reply "internal error of the oracle" or
# "needs more memory" (the harness throws), or killed the process (an escaped exception, a stack overflow);
# a hang is an input slower than FUZZ_TIMEOUT_MS (default 5000). Reproduce one with
#   dotnet src/GradOracle.Cli/bin/Debug/net10.0/GradOracle.Cli.dll serve < tools/fuzz/out/findings/default/crashes/id:...
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-10}
[[ $minutes =~ ^[0-9]+$ && $minutes -gt 0 ]] || { echo "usage: bash tools/fuzz.sh [MINUTES]" >&2; exit 2; }
timeout_ms=${FUZZ_TIMEOUT_MS:-5000}
fuzz=tools/fuzz
out=$fuzz/out
bin=$out/bin
findings=$out/findings
tools=$fuzz/.tools

# 1. afl++ from Debian, the SharpFuzz instrumenter as a local dotnet tool.
command -v afl-fuzz >/dev/null || bash tools/apt-install.sh afl++
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0
fi

# 2. A fresh publish every run, so GradOracle.dll is never instrumented twice.
rm -rf "$bin"
dotnet publish "$fuzz/GradOracle.Fuzz/GradOracle.Fuzz.csproj" -c Release -o "$bin" -v quiet -nologo
"$tools/sharpfuzz" "$bin/GradOracle.dll"

# 3. A dictionary of the protocol's words, so mutations reach ops and attributes beyond the seeds'.
mkdir -p "$out"
dict=$out/protocol.dict
{
  for w in id type hello run protocol op attrs inputs grad_output shape data input weight bias target uniforms \
      running_mean running_var kernel_size stride padding dilation ceil_mode count_include_pad divisor_override \
      output_size tie_policy nan_rule groups negative_slope dim reduction training eps start_dim end_dim \
      first last split all attribute propagate propagate_first propagate_split propagate_none ignore \
      mean sum none same valid NaN Infinity -Infinity \
      max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_max_pool1d adaptive_max_pool2d \
      adaptive_max_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d global_max_pool1d \
      global_max_pool2d global_max_pool3d global_avg_pool1d global_avg_pool2d global_avg_pool3d stochastic_pool1d \
      stochastic_pool2d stochastic_pool3d conv1d conv2d conv3d linear relu leaky_relu sigmoid tanh softmax \
      log_softmax cross_entropy batch_norm flatten; do
    printf '"\\"%s\\""\n' "$w"
  done
  for t in true false null 0 -1 1e308 1e-320 2147483647 -2147483648 9007199254740993 '[]' '{}' '[[' ']]' '{"' '":' ','; do
    printf '"%s"\n' "${t//\"/\\\"}"
  done
} > "$dict"

# 4. One afl-fuzz instance (the machine has 2 cores; .NET's JIT and GC threads use the second).
if [ -d "$findings" ]; then rm -rf "$findings.previous"; mv "$findings" "$findings.previous"; fi
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
# A request whose allocation the limits failed to bound fails fast as OutOfMemory (a finding) instead of taking the machine.
export DOTNET_GCHeapHardLimit=${DOTNET_GCHeapHardLimit:-0x100000000}
echo "fuzzing for $minutes minutes; log: $out/afl.log"
status=0
timeout --kill-after=30 $((minutes * 60 + 300)) \
  afl-fuzz -i "$fuzz/corpus" -o "$findings" -x "$dict" -t "$timeout_ms" -m none -V $((minutes * 60)) \
  -- dotnet "$bin/GradOracle.Fuzz.dll" > "$out/afl.log" 2>&1 || status=$?

# 5. The figures.
stats=$findings/default/fuzzer_stats
if [ ! -f "$stats" ]; then
  echo "afl-fuzz wrote no stats (exit $status); the end of its log:" >&2
  tail -n 30 "$out/afl.log" >&2
  exit 1
fi
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|corpus_found|bitmap_cvg|saved_crashes|saved_hangs|stability) ' "$stats"
for kind in crashes hangs; do
  shopt -s nullglob
  files=("$findings/default/$kind"/id:*)
  echo "$kind: ${#files[@]}"
  for f in "${files[@]}"; do echo "  $f"; done
done
exit "$status"
