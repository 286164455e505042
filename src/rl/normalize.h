/* normalize.h: running observation and reward normalisation, as SB3 2.3.2's VecNormalize.
 *
 * Legend: N environments, O observation size, B rows in a batch, D statistic width.
 *
 * RunningMeanStd keeps a mean and a (population) variance in double, starting from mean 0,
 * var 1 and a pseudo-count of 1e-4, and merges each batch with the parallel-variance
 * formula (Chan et al.). Observations are normalised as clip((obs - mean) / sqrt(var +
 * 1e-8), -clip_obs, clip_obs); rewards are divided by the running std of the discounted
 * return R <- gamma R + r (R reset to 0 where an episode ended) and clipped to clip_reward.
 *
 * A PPO step in SB3's order:
 *   vecenv_step(&v, act);
 *   vecnorm_obs(&vn, v.obs, obs_n, training);           update obs stats with the N new
 *                                                        obs (the auto-reset ones where
 *                                                        done), then normalise them
 *   vecnorm_normalize_obs(&vn, v.terminal_obs, term_n, N); normalise the terminal obs
 *                                                        with the stats just updated,
 *                                                        without updating (only rows with
 *                                                        v.done set are meaningful); this
 *                                                        is what PPO bootstraps a
 *                                                        truncated episode from
 *   vecnorm_reward(&vn, v.reward, v.done, rew_n, training);
 * and at the start: vecenv_reset(&v); vecnorm_reset(&vn); vecnorm_obs(&vn, v.obs, obs_n, 1).
 *
 * Batch moments of observations are computed in float32 with a sequential sum over the
 * batch, as NumPy's np.mean/np.var along axis 0 of a float32 (N, O) array, so the stats
 * follow SB3's closely (bitwise for O > 1 in our checks); returns are float64 throughout.
 * Nothing allocates after init. */
#ifndef SB_NORMALIZE_H
#define SB_NORMALIZE_H

typedef struct {
    int dim;      /* D */
    double *mean; /* (D) */
    double *var;  /* (D) population variance */
    double count; /* samples seen, plus the initial 1e-4 */
    float *bmean; /* (D) scratch: float32 batch mean */
    float *bvar;  /* (D) scratch: float32 batch variance */
} RunningMeanStd;

void rms_init(RunningMeanStd *r, int dim);
void rms_free(RunningMeanStd *r);
/* Merge a batch x (B, D) of float32 rows, batch moments in float32 as NumPy. */
void rms_update_f32(RunningMeanStd *r, const float *x, int b);
/* Merge a batch x (B, D) of float64 rows. */
void rms_update_f64(RunningMeanStd *r, const double *x, int b);

typedef struct {
    int n_envs;          /* N */
    int obs_dim;         /* O */
    int norm_obs, norm_reward;
    double gamma, clip_obs, clip_reward;
    double epsilon;      /* 1e-8 */
    RunningMeanStd obs_rms; /* D = O */
    RunningMeanStd ret_rms; /* D = 1 */
    double *returns;     /* (N) discounted return of the running episodes */
} VecNorm;

void vecnorm_init(VecNorm *vn, int n_envs, int obs_dim, int norm_obs, int norm_reward, double gamma,
                  double clip_obs, double clip_reward);
void vecnorm_free(VecNorm *vn);
/* Zero the discounted returns, as VecNormalize.reset (the caller then passes the reset
 * observations through vecnorm_obs with update = 1). */
void vecnorm_reset(VecNorm *vn);
/* raw, out: (N, O). With update (training) and norm_obs, merge the N rows into obs_rms
 * first; then normalise (a copy when norm_obs is 0). raw and out may alias. */
void vecnorm_obs(VecNorm *vn, const float *raw, float *out, int update);
/* Normalise rows (rows, O) with the current stats, never updating them; for terminal
 * observations and evaluation. raw and out may alias. */
void vecnorm_normalize_obs(const VecNorm *vn, const float *raw, float *out, int rows);
/* raw_rew, done, out: (N). With update, advance the discounted returns and merge them into
 * ret_rms; normalise (a copy when norm_reward is 0); then zero the returns where done. */
void vecnorm_reward(VecNorm *vn, const float *raw_rew, const unsigned char *done, float *out,
                    int update);

#endif
