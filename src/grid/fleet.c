/* fleet.c: action levels, masks, the masked policy's expected level, and the battery step. */
#include "grid/fleet.h"

#include <math.h>
#include <string.h>

#include "util/common.h"

double fleet_level_value(int k, int levels) {
    SB_ASSERT(levels >= 2);
    return -1.0 + 2.0 * k / (levels - 1);
}

int fleet_level_index(double a, int levels) {
    long k = lround((a + 1.0) * 0.5 * (levels - 1));
    return (int)(k < 0 ? 0 : k > levels - 1 ? levels - 1 : k);
}

/* The level value rises with k (exactly, in floating point too), so both bounds hold on a
 * contiguous run of levels: its two ends are found by bisection on the very comparisons the
 * per-level loop made (same mask, bit for bit; the loop was 3% of a follower's PPO phase). */
int fleet_mask(double soc, int levels, double tol, unsigned char *mask) {
    const double lo = -soc - tol, hi = 1.0 - soc + tol;
    int a = 0, b = levels; /* first k with value >= lo */
    while (a < b) {
        int m = a + (b - a) / 2;
        if (fleet_level_value(m, levels) >= lo) b = m;
        else a = m + 1;
    }
    const int first = a;
    b = levels; /* first k from there with value > hi */
    while (a < b) {
        int m = a + (b - a) / 2;
        if (fleet_level_value(m, levels) <= hi) a = m + 1;
        else b = m;
    }
    const int end = a;
    memset(mask, 0, (size_t)first);
    memset(mask + first, 1, (size_t)(end - first));
    memset(mask + end, 0, (size_t)(levels - end));
    return end - first;
}

double fleet_clip_action(double a, double soc) {
    double lo = -soc, hi = 1.0 - soc;
    return a < lo ? lo : a > hi ? hi : a;
}

double fleet_expected_level(const float *probs, const unsigned char *mask, int levels, double soc) {
    double sp = 0, sa = 0;
    for (int k = 0; k < levels; k++) {
        if (!mask[k]) continue;
        sp += probs[k];
        sa += probs[k] * fleet_level_value(k, levels);
    }
    if (!(sp > 0)) return 0.0;
    return fleet_clip_action(sa / sp, soc);
}

int fleet_mode_level(const float *probs, const unsigned char *mask, int levels) {
    int best = -1;
    for (int k = 0; k < levels; k++)
        if (mask[k] && (best < 0 || probs[k] > probs[best])) best = k;
    return best;
}

void fleet_step(double soc, double a, double capacity_kwh, double eff_in, double eff_out, double net_demand_kwh,
                FleetStep *out) {
    a = fleet_clip_action(a, soc);
    double moved = fabs(a) * capacity_kwh; /* kWh into or out of the batteries */
    out->charge_kwh = a > 0 ? moved : 0.0;
    out->discharge_kwh = a < 0 ? moved : 0.0;
    out->grid_kwh = net_demand_kwh + out->charge_kwh / eff_in - eff_out * out->discharge_kwh;
    out->loss_kwh = out->charge_kwh * (1.0 / eff_in - 1.0) + out->discharge_kwh * (1.0 - eff_out);
    double s = soc + a;
    out->soc_next = s < 0 ? 0.0 : s > 1 ? 1.0 : s;
}
