use super::*;

#[test]
fn axis_labels() {
    assert_eq!(axis_usd(0.0), "$0");
    assert_eq!(axis_usd(950.0), "$950");
    assert_eq!(axis_usd(12_000.0), "$12k");
    assert_eq!(axis_usd(1_500_000.0), "$1.5M");
    assert_eq!(axis_usd(-2.25e9), "−$2.25B");
    assert_eq!(axis_usd(999_999.999_9), "$1M");
    assert_eq!(axis_usd(3.1e12), "$3.1T");
    assert_eq!(axis_usd(1.7e308), "$1.7e308");
    assert_eq!(axis_usd(f64::NAN), "n/a");
    assert_eq!(axis_usd(f64::NEG_INFINITY), "−∞");
    assert_eq!(trim_decimals(2.5e20), "2.5e20");
    assert_eq!(trim_decimals(-0.001), "0");
}

fn one(k: usize, values: Vec<f64>) -> Vec<Series> {
    vec![Series::nth(k, "a", values)]
}

#[test]
fn charts_are_svg() {
    let cats: Vec<String> = vec!["x".into(), "y".into(), "z".into()];
    let cat: Vec<String> = vec!["x".into()];
    for svg in [
        hbar_stacked(
            "t",
            &cats,
            &one(0, vec![1.0, f64::NAN, 0.0]),
            axis_usd,
            WIDTH,
        ),
        vbar_stacked("t", &cats, &one(0, vec![1.0, f64::NAN, 0.0]), "USD", WIDTH),
        lines(
            "t",
            &[0, 1, 2],
            &one(0, vec![1.0, f64::NAN, 0.0]),
            ("round", "index"),
            WIDTH,
        ),
        hbar_stacked("t", &cat, &one(1, vec![1.0]), axis_usd, HALF_WIDTH),
        vbar_stacked("t", &cat, &one(1, vec![1.0]), "USD", HALF_WIDTH),
        lines(
            "t",
            &[0],
            &one(1, vec![1.0]),
            ("round", "index"),
            HALF_WIDTH,
        ),
    ] {
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("could not be drawn"), "{svg}");
    }
}

/// Values at and beyond the edge of `f64` (a debt of 1.7e308 once hung the report): every chart
/// finishes, with finite coordinates and readable labels.
#[test]
fn extreme_values_finish_with_finite_output() {
    let cats: Vec<String> = vec!["x".into(), "y".into()];
    for values in [
        vec![1.7e308, 1.7e308],
        vec![f64::MAX, f64::MAX],
        vec![5e-324, 0.0],
        vec![f64::INFINITY, f64::NAN],
        vec![-1e308, 1e308],
    ] {
        let two = vec![
            Series::nth(0, "a", values.clone()),
            Series::nth(1, "b", values.clone()),
        ];
        for svg in [
            hbar_stacked("t", &cats, &two, axis_usd, WIDTH),
            vbar_stacked("t", &cats, &two, "USD", WIDTH),
            lines("t", &[0, 1], &two, ("round", "index"), WIDTH),
        ] {
            assert!(svg.starts_with("<svg"), "{values:?}: {svg}");
            assert!(!svg.contains("could not be drawn"), "{values:?}");
            assert!(
                !svg.contains("NaN") && !svg.contains("inf"),
                "{values:?}: {svg}"
            );
            // No label prints hundreds of digits.
            assert!(!svg.contains("0000000000000000"), "{values:?}: {svg}");
        }
    }
}

/// CIELAB (D65) of an sRGB colour, computed from the sRGB and CIE definitions.
fn lab(c: RGBColor) -> [f64; 3] {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(c.0), lin(c.1), lin(c.2));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    [
        116.0 * f(y) - 16.0,
        500.0 * (f(x) - f(y)),
        200.0 * (f(y) - f(z)),
    ]
}

fn delta_e(a: RGBColor, b: RGBColor) -> f64 {
    let (p, q) = (lab(a), lab(b));
    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
}

#[test]
fn palette_colours_are_distinct() {
    // Sanity of the formula: black to white is ΔE 100.
    assert!((delta_e(RGBColor(0, 0, 0), RGBColor(255, 255, 255)) - 100.0).abs() < 0.1);
    for (i, a) in PALETTE.iter().enumerate() {
        assert!(delta_e(*a, WHITE) >= 40.0, "colour {i} too pale on white");
        for (j, b) in PALETTE.iter().enumerate().skip(i + 1) {
            assert!(
                delta_e(*a, *b) >= 25.0,
                "colours {i} and {j}: ΔE {}",
                delta_e(*a, *b)
            );
        }
    }
    // Past the palette, series repeat colours but are dashed.
    assert!(!Series::nth(19, "a", vec![]).dashed);
    assert!(Series::nth(20, "a", vec![]).dashed);
}
