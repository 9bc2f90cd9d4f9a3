using System.Text;

namespace InfraRelocation.Core.Persistence;

/// <summary>Unified-diff text built from the known replacement spans (no general diff algorithm needed).</summary>
internal static class UnifiedDiff
{
    private const int Context = 3;

    private sealed record Block(int OldFirst, int OldLast, List<string> NewLines);

    public static string FromReplacements(string text, IReadOnlyList<YamlScalarEditor.Replacement> replacements, string fileLabel)
    {
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' && i + 1 < text.Length)
            {
                lineStarts.Add(i + 1);
            }
        }
        var oldLines = lineStarts.Select((s, i) => StripEol(text[s..(i + 1 < lineStarts.Count ? lineStarts[i + 1] : text.Length)])).ToList();
        int LineOf(int index)
        {
            var found = lineStarts.BinarySearch(index);
            return found >= 0 ? found : ~found - 1;
        }

        // Group replacements touching the same or adjacent lines into blocks of old lines → new lines.
        var groups = new List<(int First, int Last, List<YamlScalarEditor.Replacement> Items)>();
        foreach (var r in replacements)
        {
            var first = LineOf(r.Start);
            var last = Math.Max(first, LineOf(Math.Max(r.Start, r.End - 1)));
            if (groups.Count > 0 && first <= groups[^1].Last + 1)
            {
                var g = groups[^1];
                g.Items.Add(r);
                groups[^1] = (g.First, Math.Max(g.Last, last), g.Items);
            }
            else
            {
                groups.Add((first, last, [r]));
            }
        }
        var blocks = new List<Block>();
        foreach (var (first, last, items) in groups)
        {
            var segStart = lineStarts[first];
            var segEnd = last + 1 < lineStarts.Count ? lineStarts[last + 1] : text.Length;
            var sb = new StringBuilder();
            var pos = segStart;
            foreach (var r in items)
            {
                sb.Append(text, pos, r.Start - pos).Append(r.Text);
                pos = r.End;
            }
            sb.Append(text, pos, segEnd - pos);
            var segment = sb.ToString();
            var lines = segment.Split('\n').Select(StripEol).ToList();
            if (segment.EndsWith('\n'))
            {
                lines.RemoveAt(lines.Count - 1);
            }
            blocks.Add(new Block(first, last, lines));
        }

        var output = new StringBuilder();
        output.Append("--- a/").Append(fileLabel).Append('\n');
        output.Append("+++ b/").Append(fileLabel).Append('\n');
        var delta = 0;
        var b = 0;
        while (b < blocks.Count)
        {
            // A hunk takes blocks while their context windows overlap.
            var e = b;
            while (e + 1 < blocks.Count && blocks[e + 1].OldFirst - blocks[e].OldLast - 1 <= 2 * Context)
            {
                e++;
            }
            var hunkFirst = Math.Max(0, blocks[b].OldFirst - Context);
            var hunkLast = Math.Min(oldLines.Count - 1, blocks[e].OldLast + Context);
            var body = new StringBuilder();
            var oldCount = 0;
            var newCount = 0;
            var line = hunkFirst;
            var hunkDelta = 0;
            for (var k = b; k <= e; k++)
            {
                for (; line < blocks[k].OldFirst; line++, oldCount++, newCount++)
                {
                    body.Append(' ').Append(oldLines[line]).Append('\n');
                }
                for (; line <= blocks[k].OldLast; line++, oldCount++)
                {
                    body.Append('-').Append(oldLines[line]).Append('\n');
                }
                foreach (var n in blocks[k].NewLines)
                {
                    body.Append('+').Append(n).Append('\n');
                    newCount++;
                }
                hunkDelta += blocks[k].NewLines.Count - (blocks[k].OldLast - blocks[k].OldFirst + 1);
            }
            for (; line <= hunkLast; line++, oldCount++, newCount++)
            {
                body.Append(' ').Append(oldLines[line]).Append('\n');
            }
            output.Append("@@ -").Append(hunkFirst + 1).Append(',').Append(oldCount)
                  .Append(" +").Append(hunkFirst + 1 + delta).Append(',').Append(newCount).Append(" @@\n")
                  .Append(body);
            delta += hunkDelta;
            b = e + 1;
        }
        return output.ToString();
    }

    private static string StripEol(string line) => line.TrimEnd('\n').TrimEnd('\r');
}
