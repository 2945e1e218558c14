// NSGA-II's sorting and crowding against fronts worked by hand, and the hypervolume against
// areas and volumes computed by inclusion-exclusion.
#include "ptm/nas/nsga2.h"

#include <cmath>

#include "catch.h"

using namespace ptm::nas;
using Points = std::vector<std::vector<double>>;
using Fronts = std::vector<std::vector<size_t>>;

TEST_CASE("non-dominated sorting finds the hand-worked fronts", "[unit][nas]") {
  // 0..2 trade off against each other; 3 = (3,4) is dominated by 1 = (2,3), 4 = (5,2) by
  // 2 = (4,1); 5 = (5,5) by 3 and 4, so it comes third.
  const Points p = {{1, 5}, {2, 3}, {4, 1}, {3, 4}, {5, 2}, {5, 5}};
  CHECK(non_dominated_sort(p) == Fronts{{0, 1, 2}, {3, 4}, {5}});
  // Equal points do not dominate each other; a point equal in one objective and better in the
  // other dominates.
  CHECK(non_dominated_sort({{1, 1}, {1, 1}, {1, 2}}) == Fronts{{0, 1}, {2}});
  // Three objectives: (1,1,1) and (1,2,0) trade off; (1,1,1) dominates (2,2,2), (1,2,0)
  // dominates (3,3,0).
  CHECK(non_dominated_sort({{2, 2, 2}, {1, 1, 1}, {1, 2, 0}, {3, 3, 0}}) == Fronts{{1, 2}, {0, 3}});
  CHECK(non_dominated_sort({}).empty());
  CHECK(dominates({1, 2}, {1, 3}));
  CHECK_FALSE(dominates({1, 3}, {1, 3}));
  CHECK_FALSE(dominates({0, 4}, {1, 3}));
}

TEST_CASE("crowding distance sums the normalised gaps between neighbours", "[unit][nas]") {
  // A front of five points over ranges of 10 in both objectives:
  //   (1,6): x gap 3-0, y gap 10-4 -> 0.3 + 0.6 = 0.9
  //   (3,4): x gap 6-1, y gap 6-1  -> 0.5 + 0.5 = 1.0
  //   (6,1): x gap 10-3, y gap 4-0 -> 0.7 + 0.4 = 1.1
  const Points p = {{6, 1}, {0, 10}, {3, 4}, {10, 0}, {1, 6}, {9, 9}};
  const auto d = crowding_distance(p, {2, 0, 4, 1, 3});  // any order: aligned with the front
  REQUIRE(d.size() == 5);
  CHECK(d[0] == Approx(1.0));
  CHECK(d[1] == Approx(1.1));
  CHECK(d[2] == Approx(0.9));
  CHECK(std::isinf(d[3]));
  CHECK(std::isinf(d[4]));
  // Two or fewer members are all boundary points.
  const auto two = crowding_distance(p, {0, 5});
  CHECK((std::isinf(two[0]) && std::isinf(two[1])));
  // An objective with no spread adds nothing (no division by zero).
  const auto flat = crowding_distance({{0, 5}, {1, 5}, {3, 5}}, {0, 1, 2});
  CHECK(std::isinf(flat[0]));
  CHECK(flat[1] == Approx(1.0));
  CHECK(std::isinf(flat[2]));
}

TEST_CASE("hypervolume equals hand-computed areas and volumes", "[unit][nas]") {
  // Staircase under (4,4): strips y 1..2 width 1, y 2..3 width 2, y 3..4 width 3 -> 6.
  const Points stairs = {{1, 3}, {2, 2}, {3, 1}};
  CHECK(hypervolume(stairs, {4, 4}) == Approx(6.0));
  // A dominated point, a point outside the box and one on its edge add nothing.
  CHECK(hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {5, 0}, {4, 0}}, {4, 4}) == Approx(6.0));
  CHECK(hypervolume({{0, 0}}, {2, 3}) == Approx(6.0));
  CHECK(hypervolume({}, {1, 1}) == 0.0);
  // Three objectives under (4,4,4): A = (1,2,2) -> 3*2*2 = 12, B = (2,1,1) -> 18,
  // C = (3,3,0) -> 4; A&B = (2,2,2) -> 8, A&C = (3,3,2) -> 2, B&C = (3,3,1) -> 3,
  // A&B&C = (3,3,2) -> 2; union 12 + 18 + 4 - 8 - 2 - 3 + 2 = 23.
  CHECK(hypervolume({{1, 2, 2}, {2, 1, 1}, {3, 3, 0}}, {4, 4, 4}) == Approx(23.0));
  CHECK(hypervolume({{3, 3, 0}, {1, 2, 2}, {2, 1, 1}, {2, 2, 2}}, {4, 4, 4}) == Approx(23.0));  // order, dominated
  CHECK_THROWS_AS(hypervolume({{1, 2}}, {4, 4, 4}), std::invalid_argument);
}
