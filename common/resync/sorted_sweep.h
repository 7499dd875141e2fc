#pragma once

// Replacing a follower's stored copy of one collection (all keys under a
// prefix of one column family) with a source's listing, page by page, with
// memory bounded by a page (a resync after OUT_OF_RANGE: ARCHITECTURE.md §4,
// PLAN decision 4: entities the source no longer lists are removed).
//
// The listing must arrive in the copy's key order (the List RPCs list by id
// and the copies key by the same id, see common/store/key.h): each page's
// keys, once sorted, must all come after the previous page's. A page's
// transaction calls Page() before writing the page: every stored key after
// the last committed position and up to the page's last key that the page
// does not hold is handed to `gone`. After the last page, Rest() hands over
// what is stored after it, a bounded number per transaction. The position
// moves only by Committed(), called once a page's transaction committed, so a
// failed transaction can simply be retried (or the whole resync run again).
//
//   SortedSweep sweep(Cf::kView, KeyBuilder(kOppTag).key());
//   for each page:  store.Write(..., [&](WriteTxn& txn) {
//                     RETURN_IF_ERROR(sweep.Page(txn, keys, remove));
//                     ... write the page ...
//                   });  then sweep.Committed();
//   do { store.Write(..., [&](WriteTxn& txn) {
//          RETURN_IF_ERROR(sweep.Rest(txn, 1000, remove, &done));
//          if (done) txn.PutCursor(source, sequence);   // the cursor last
//        }); sweep.Committed(); } while (!done);

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/store/store.h"

namespace salesops {

class SortedSweep {
 public:
  // Removes (or otherwise retires) one stored entry no longer listed, inside
  // the transaction; `key` is its full key.
  using GoneFn =
      std::function<absl::Status(WriteTxn& txn, std::string_view key)>;

  SortedSweep(CfRef cf, std::string prefix);

  // `keys`: the full keys of one page (every one under the prefix), any
  // order; sorted here. FAILED_PRECONDITION when one of them is not under
  // the prefix, repeats, or is not after the last committed page's keys (the
  // listing is not in key order: this sweep would remove listed entries).
  // When `stored` is given, it receives the stored values of the page's keys
  // that are stored (so a caller can skip rewriting what did not change).
  [[nodiscard]] absl::Status Page(
      WriteTxn& txn, std::vector<std::string> keys, const GoneFn& gone,
      std::map<std::string, std::string>* stored = nullptr);
  // Hands over up to `limit` stored keys after the last committed page;
  // `*done` when nothing after them remains.
  [[nodiscard]] absl::Status Rest(WriteTxn& txn, size_t limit,
                                  const GoneFn& gone, bool* done);
  // The transaction of the last Page() or Rest() committed.
  void Committed() { position_ = pending_; }

 private:
  CfRef cf_;
  std::string prefix_;
  std::string end_;       // PrefixSuccessor(prefix_)
  std::string position_;  // the last key swept and committed; "" = none
  std::string pending_;
};

}  // namespace salesops
