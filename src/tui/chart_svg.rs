//! The chart view's chart as an SVG file, for a report: the same series,
//! bounds and labels as on screen, drawn by plotters at 1200×700, written
//! to a temporary name and renamed.

use std::path::Path;

use plotters::prelude::*;

use crate::app::chart::{ChartData, ChartKind, XAxis};

const SIZE: (u32, u32) = (1200, 700);

/// Render `data` as SVG text.
pub fn render(data: &ChartData) -> Result<String, String> {
    let mut svg = String::new();
    draw(data, &mut svg).map_err(|e| format!("drawing the chart: {e}"))?;
    Ok(svg)
}

/// Write `data` to `path` as SVG (whole or not at all).
pub fn write(data: &ChartData, path: &Path) -> Result<(), String> {
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        return Err(format!(
            "{}: a chart is written as SVG; name a .svg file",
            path.display()
        ));
    }
    let svg = render(data)?;
    crate::engine::run::atomic::write_bytes(path, svg.as_bytes())
        .map_err(|e| format!("cannot write the chart: {e}"))
}

fn draw(data: &ChartData, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let spec = &data.spec;
    let caption = format!(
        "{} by {}{}",
        spec.ys.join(", "),
        spec.x,
        if spec.log_y { " (log scale)" } else { "" }
    );
    let [x0, x1] = data.x_bounds;
    let [y0, y1] = data.y_bounds;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let x_label = |v: &f64| data.x_label(*v);
    let y_label = |v: &f64| data.y_label(*v);
    let bars = matches!(data.x_axis, XAxis::Categories(_));
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(spec.x.as_str())
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label);
    if let XAxis::Categories(labels) = &data.x_axis {
        mesh.x_labels(labels.len().min(30));
    }
    mesh.draw()?;
    for (i, s) in data.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points = s.points.iter().copied();
        let drawn = match (spec.kind, bars) {
            (_, true) => chart.draw_series(points.map(|(x, y)| {
                Rectangle::new(
                    [(x - 0.4, y0.max(0.0).min(y)), (x + 0.4, y)],
                    color.filled(),
                )
            }))?,
            (ChartKind::Line, false) => {
                chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?
            }
            (_, false) => chart.draw_series(points.map(|p| Circle::new(p, 2, color.filled())))?,
        };
        drawn
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    if data.series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::chart::{chart_data, ChartSpec};
    use polars::prelude::*;

    #[test]
    fn an_svg_holds_every_series_and_the_axis_labels() {
        let f = df!(
            "d" => [1i32, 2, 3, 4],
            "v" => [1.0, 4.0, 2.0, 8.0],
            "g" => ["a", "a", "b", "b"]
        )
        .unwrap()
        .lazy()
        .with_column(col("d").cast(DataType::Date))
        .collect()
        .unwrap();
        let data = chart_data(&f, &ChartSpec::parse("line d v by g").unwrap()).unwrap();
        let svg = render(&data).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("v by d"));
        assert!(
            svg.contains(">\na\n<") || svg.contains(">a<"),
            "a legend entry per group: {svg}"
        );
        assert!(svg.contains("1970-01-0"), "dates on the time axis");
        // The series are the lines two pixels wide (the grid's are one).
        let series = svg
            .lines()
            .filter(|l| l.contains("<polyline") && l.contains("stroke-width=\"2\""))
            .count();
        assert_eq!(series, 2, "one line per group: {svg}");
    }

    #[test]
    fn only_svg_is_written_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let f = df!("x" => [1.0, 2.0], "y" => [3.0, 4.0]).unwrap();
        let data = chart_data(&f, &ChartSpec::parse("bar x y").unwrap()).unwrap();
        let err = write(&data, &dir.path().join("c.png")).unwrap_err();
        assert!(err.contains("name a .svg file"), "{err}");
        let path = dir.path().join("c.svg");
        write(&data, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.matches("<rect").count() >= 2, "a bar per row");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.svg"], "no temporary file left");
    }
}
