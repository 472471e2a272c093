//! Correlated, fat-tailed return paths with jump/depeg events (docs/monte-carlo.md#paths).
//!
//! Over a horizon of `h` days the log returns of the modelled assets are
//! `r = μ·h/365 + L·z·√(h/365)`, with `L` the Cholesky factor of the covariance `Σ_ij = ρ_ij·σ_i·σ_j`
//! (annualised volatilities from the snapshot; `μ = 0`, no drift is assumed over a stress horizon) and
//! `z` standard normal, or multivariate Student-t with `ν` degrees of freedom rescaled to unit variance:
//! `z = n·√((ν − 2)/W)`, `n` standard normal, `W ~ χ²_ν` shared by all assets. The modelled assets are
//! the exogenous kinds (native, governance, stable, rwa) with a volatility above 0; derived assets
//! follow their underlyings through their price formulas. A correlation matrix that is not positive
//! semi-definite is repaired by clipping its negative eigenvalues to 0 and rescaling to a unit diagonal,
//! with a warning naming the pair that moved most.
//!
//! Every path has its own random stream: `ChaCha8` seeded with the run's seed, stream = path index, so
//! a path's draws do not depend on which thread runs it or in which order.

use nalgebra::{DMatrix, SymmetricEigen};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use cascade_model::{AssetIdx, AssetKind, Scenario, Shock, Snapshot};

/// The distribution of the standardised shocks `z`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Normal,
    /// Multivariate Student-t with `dof` > 2 degrees of freedom, rescaled to unit variance.
    StudentT {
        dof: f64,
    },
}

/// A jump or depeg event of one asset, drawn independently on every path: with `probability`, the
/// asset's price is multiplied by `1 + size` (for an lst: its market discount by `1 + size`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jump {
    pub asset: AssetIdx,
    pub probability: f64,
    /// Relative move when the event happens (−0.1 = a 10% drop).
    pub size: f64,
}

/// Why a path model could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    #[error("Student-t needs more than 2 degrees of freedom for a unit variance, got {0}")]
    Dof(f64),
    #[error("the horizon must be a positive number of days, got {0}")]
    Horizon(f64),
    #[error("jump probability of asset {0} must be in [0, 1], got {1}")]
    JumpProbability(String, f64),
    #[error("jump size of asset {0} must be above −1, got {1}")]
    JumpSize(String, f64),
}

/// A ready-to-sample model of the modelled assets' horizon returns.
#[derive(Debug, Clone)]
pub struct PathModel {
    /// The modelled assets, in snapshot order.
    pub assets: Vec<AssetIdx>,
    /// Annualised volatilities of `assets`.
    pub sigma: Vec<f64>,
    /// Lower Cholesky factor of the (repaired) correlation matrix of `assets`.
    chol: DMatrix<f64>,
    pub horizon_days: f64,
    pub dist: Dist,
    pub jumps: Vec<Jump>,
    lst: Vec<bool>,
    /// Warnings raised while building (a repaired correlation matrix).
    pub warnings: Vec<String>,
}

/// One path's draws: the log returns of the modelled assets and which jumps happened.
#[derive(Debug, Clone, PartialEq)]
pub struct PathDraw {
    pub log_returns: Vec<f64>,
    pub jumped: Vec<bool>,
}

impl PathModel {
    pub fn new(
        s: &Snapshot,
        horizon_days: f64,
        dist: Dist,
        jumps: Vec<Jump>,
    ) -> Result<PathModel, PathError> {
        if !(horizon_days > 0.0 && horizon_days.is_finite()) {
            return Err(PathError::Horizon(horizon_days));
        }
        if let Dist::StudentT { dof } = dist {
            if !(dof > 2.0 && dof.is_finite()) {
                return Err(PathError::Dof(dof));
            }
        }
        for j in &jumps {
            let id = s.assets[j.asset].id.clone();
            if !(0.0..=1.0).contains(&j.probability) {
                return Err(PathError::JumpProbability(id, j.probability));
            }
            if !(j.size > -1.0 && j.size.is_finite()) {
                return Err(PathError::JumpSize(id, j.size));
            }
        }
        let assets: Vec<AssetIdx> = (0..s.assets.len())
            .filter(|&a| s.assets[a].kind.is_exogenous() && s.assets[a].volatility > 0.0)
            .collect();
        let sigma = assets.iter().map(|&a| s.assets[a].volatility).collect();
        let n = assets.len();
        let mut rho = DMatrix::<f64>::identity(n, n);
        for c in &s.correlations {
            for (i, &ai) in c.assets.iter().enumerate() {
                for (j, &aj) in c.assets.iter().enumerate() {
                    if let (Some(x), Some(y)) = (
                        assets.iter().position(|&a| a == ai),
                        assets.iter().position(|&a| a == aj),
                    ) {
                        if x != y {
                            rho[(x, y)] = c.matrix[i][j];
                        }
                    }
                }
            }
        }
        let mut warnings = Vec::new();
        let chol = match rho.clone().cholesky() {
            Some(c) => c.l(),
            None => {
                let fixed = clip_to_psd(&rho);
                let (mut worst, mut pair) = (0.0, (0, 0));
                for i in 0..n {
                    for j in 0..i {
                        let d = (fixed[(i, j)] - rho[(i, j)]).abs();
                        if d > worst {
                            worst = d;
                            pair = (i, j);
                        }
                    }
                }
                let (a, b) = (&s.assets[assets[pair.0]].id, &s.assets[assets[pair.1]].id);
                warnings.push(format!(
                    "the correlation matrix is not positive semi-definite; repaired by eigenvalue clipping (largest change: {a}/{b} {:.4} → {:.4})",
                    rho[(pair.0, pair.1)],
                    fixed[(pair.0, pair.1)]
                ));
                // A tiny ridge keeps the factorisation of a repaired (singular) matrix stable.
                let ridged = &fixed * (1.0 - 1e-10) + DMatrix::<f64>::identity(n, n) * 1e-10;
                ridged
                    .cholesky()
                    .map(|c| c.l())
                    .unwrap_or_else(|| DMatrix::identity(n, n))
            }
        };
        let lst = jumps
            .iter()
            .map(|j| s.assets[j.asset].kind == AssetKind::Lst)
            .collect();
        Ok(PathModel {
            assets,
            sigma,
            chol,
            horizon_days,
            dist,
            jumps,
            lst,
            warnings,
        })
    }

    /// The random stream of path `index` of a run seeded `seed`.
    pub fn stream(seed: u64, index: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        rng
    }

    /// Standardised shocks `z` (unit variance) and jump draws of one path.
    fn draw_standard(&self, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<bool>) {
        let n = self.assets.len();
        let mut z: Vec<f64> = (0..n)
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect();
        if let Dist::StudentT { dof } = self.dist {
            // ChiSquared::new fails only for dof ≤ 0, excluded by `new`.
            let w = ChiSquared::new(dof).map(|c| c.sample(rng)).unwrap_or(dof);
            let scale = ((dof - 2.0) / w).sqrt();
            z.iter_mut().for_each(|x| *x *= scale);
        }
        let jumped = self
            .jumps
            .iter()
            .map(|j| rng.random::<f64>() < j.probability)
            .collect();
        (z, jumped)
    }

    /// Log returns `L·z·√(h/365)` for standardised shocks `z`.
    fn returns(&self, z: &[f64]) -> Vec<f64> {
        let t = (self.horizon_days / 365.0).sqrt();
        let n = z.len();
        (0..n)
            .map(|i| {
                let lz: f64 = (0..=i).map(|j| self.chol[(i, j)] * z[j]).sum();
                self.sigma[i] * lz * t
            })
            .collect()
    }

    /// The draws of path `index`; with `antithetic`, odd paths mirror the shocks of the even path before
    /// them (`−z`, same jumps).
    pub fn draw(&self, seed: u64, index: u64, antithetic: bool) -> PathDraw {
        let (base, mirror) = if antithetic {
            (index - index % 2, index % 2 == 1)
        } else {
            (index, false)
        };
        let mut rng = Self::stream(seed, base);
        let (mut z, jumped) = self.draw_standard(&mut rng);
        if mirror {
            z.iter_mut().for_each(|x| *x = -*x);
        }
        PathDraw {
            log_returns: self.returns(&z),
            jumped,
        }
    }

    /// The scenario of one path: a price change `e^r − 1` per modelled asset, and the jumps that happened.
    pub fn scenario(&self, draw: &PathDraw, name: String, max_rounds: u32) -> Scenario {
        let mut shocks: Vec<Shock> = self
            .assets
            .iter()
            .zip(&draw.log_returns)
            .map(|(&a, r)| Shock {
                asset: Some(a),
                price_change: Some(r.exp() - 1.0),
                ..Shock::none()
            })
            .collect();
        for ((j, happened), lst) in self.jumps.iter().zip(&draw.jumped).zip(&self.lst) {
            if *happened {
                shocks.push(if *lst {
                    Shock {
                        asset: Some(j.asset),
                        discount: Some(1.0 + j.size),
                        ..Shock::none()
                    }
                } else {
                    Shock {
                        asset: Some(j.asset),
                        price_change: Some(j.size),
                        ..Shock::none()
                    }
                });
            }
        }
        Scenario {
            name,
            max_rounds,
            shocks,
            ..Scenario::baseline()
        }
    }
}

/// The nearest-by-eigenvalue-clipping correlation matrix: `V·max(Λ, 0)·Vᵀ`, rescaled to a unit diagonal.
pub fn clip_to_psd(rho: &DMatrix<f64>) -> DMatrix<f64> {
    let n = rho.nrows();
    let eig = SymmetricEigen::new(rho.clone());
    let lambda = DMatrix::from_diagonal(&eig.eigenvalues.map(|l| l.max(0.0)));
    let m = &eig.eigenvectors * lambda * eig.eigenvectors.transpose();
    let mut out = m.clone();
    for i in 0..n {
        for j in 0..n {
            let d = (m[(i, i)] * m[(j, j)]).sqrt();
            out[(i, j)] = if d > 0.0 {
                m[(i, j)] / d
            } else if i == j {
                1.0
            } else {
                0.0
            };
        }
    }
    out
}
