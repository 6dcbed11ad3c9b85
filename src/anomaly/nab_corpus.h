// The real Numenta Anomaly Benchmark corpus, read from a NAB checkout, scored
// by a detector and written in NAB's results layout (issue 8's bar is NAB's
// own scorer on that corpus; this makes it one command, and gives our own
// NAB-rules score of the same run for a first look):
//   <root>/data/<category>/<file>.csv            timestamp,value
//   <root>/labels/combined_windows.json           {"<category>/<file>.csv":
//                                                   [["start", "end"], ...]}
// Results, as NAB's runner writes them for a detector named D:
//   <out>/D/<category>/D_<file>.csv               timestamp,value,anomaly_score,label
// (label 1 inside a window). Copy <out>/D into NAB's results/ and run NAB's
// `python run.py -d D --optimize --score --normalize`.
#ifndef OPSPILOT_ANOMALY_NAB_CORPUS_H_
#define OPSPILOT_ANOMALY_NAB_CORPUS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "anomaly/anomaly.h"
#include "anomaly/nab.h"
#include "core/context.h"
#include "core/status.h"

namespace opspilot::anomaly {

struct NabCorpusFile {
  std::string name;               // "realKnownCause/nyc_taxi.csv" (relative to data/)
  forecast::Series series;
  std::vector<NabWindow> windows;  // rows, ascending, disjoint
};

// Rows of the time spans [start, end] (unix seconds, inclusive): the first row
// at or after start to the last row at or before end; a span holding no row
// is dropped; overlapping spans are merged (touching ones are not). REQUIRES: time non-decreasing.
std::vector<NabWindow> WindowsFromTimes(const std::vector<int64_t>& time,
                                        std::vector<std::pair<int64_t, int64_t>> spans);

// Reads every data/**/*.csv under `root` (sorted by name) and its windows from
// `windows_path` ("" = <root>/labels/combined_windows.json). A data file
// without an entry there is an error (a typo would otherwise score as a file
// with no anomalies); entries without a data file are ignored (a subset of
// the corpus may be scored). Errors name the file, and for the windows the
// entry and the reason.
StatusOr<std::vector<NabCorpusFile>> ReadNabCorpus(const std::string& root, const std::string& windows_path = "");

struct NabRunOptions {
  ScoreOptions score;        // detector and its options; NAB's probation is kept on
  std::string results_dir;   // "" = do not write NAB's results layout
  std::string detector_name = "opspilot";  // D in the layout above
};

struct NabRun {
  std::vector<NabResult> profiles;  // one per NabProfiles(), best threshold each
  struct Category {
    std::string name;
    int64_t files = 0, windows = 0;
    int64_t detected = 0, false_positives = 0;  // at the standard profile's threshold
  };
  std::vector<Category> categories;
  int64_t files = 0, rows = 0, windows = 0;
  double seconds = 0;  // scoring wall time
};

// Scores every file (in parallel over ctx's pool, each in time order with no
// look-ahead), writes the results layout when asked (each file written to a
// temporary name and renamed), and scores the run by NAB's rules (nab.h).
StatusOr<NabRun> RunNabCorpus(const Context& ctx, const std::vector<NabCorpusFile>& corpus, const NabRunOptions& options);

}  // namespace opspilot::anomaly

#endif  // OPSPILOT_ANOMALY_NAB_CORPUS_H_
