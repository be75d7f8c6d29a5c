package io.kmc.bench.report;

import java.util.ArrayList;
import java.util.List;

/**
 * A Markdown table padded into columns, so that the same text reads well on a terminal and pastes
 * into docs/benchmarks.md. The first column is left-aligned, the others (numbers) right-aligned.
 */
public final class Table {

  private final List<String> header;
  private final List<List<String>> rows = new ArrayList<>();

  public Table(String... header) {
    this.header = List.of(header);
  }

  public Table row(String... cells) {
    if (cells.length != header.size()) {
      throw new IllegalArgumentException("a row needs " + header.size() + " cells, got " + cells.length);
    }
    rows.add(List.of(cells));
    return this;
  }

  public String render() {
    int[] widths = new int[header.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = Math.max(3, header.get(i).length());
      for (List<String> row : rows) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    StringBuilder out = new StringBuilder();
    line(out, header, widths);
    out.append('|');
    for (int i = 0; i < widths.length; i++) {
      out.append(i == 0 ? " :" + "-".repeat(widths[i] - 1) + " |" : " " + "-".repeat(widths[i] - 1) + ": |");
    }
    out.append('\n');
    rows.forEach(row -> line(out, row, widths));
    return out.toString();
  }

  private static void line(StringBuilder out, List<String> cells, int[] widths) {
    out.append('|');
    for (int i = 0; i < widths.length; i++) {
      String cell = cells.get(i);
      String padding = " ".repeat(widths[i] - cell.length());
      out.append(' ').append(i == 0 ? cell + padding : padding + cell).append(" |");
    }
    out.append('\n');
  }
}
