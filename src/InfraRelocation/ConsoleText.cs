using System.Text;
using System.Text.RegularExpressions;

namespace InfraRelocation;

/// <summary>
/// Helpers the format views call (module/Formats/*.Format.ps1xml): word wrapping that never splits a
/// <c>file:line:column</c>, and one colour rule for outcomes, severities and check states. The escape
/// sequences come from the caller's <c>$PSStyle</c>, so PowerShell drops them when output is redirected
/// or <c>NO_COLOR</c> is set.
/// </summary>
public static partial class ConsoleText
{
    /// <summary>No view is wider than this, whatever the console: a paragraph stays readable.</summary>
    public const int MaxWidth = 120;

    private static readonly HashSet<string> s_bad = new(StringComparer.OrdinalIgnoreCase)
    {
        "Error", "Failed", "Fail", "Blocked", "Reverted", "Cancelled", "False", "Unreachable",
    };

    private static readonly HashSet<string> s_good = new(StringComparer.OrdinalIgnoreCase)
    {
        "Passed", "Pass", "Ok", "Succeeded", "Unchanged", "True", "Done", "Verified", "Reachable", "Satisfied",
    };

    private static readonly HashSet<string> s_note = new(StringComparer.OrdinalIgnoreCase)
    {
        "Warning", "Previewed", "Skip", "Skipped", "Planned", "Pending", "Information", "Missing", "Overridden",
    };

    /// <summary>"Bad", "Good", "Note" or "" for a value such as an outcome, a severity or OK/FAIL/SKIP.</summary>
    public static string Tone(object? value)
    {
        var word = value?.ToString()?.Trim() ?? "";
        return s_bad.Contains(word) ? "Bad" : s_good.Contains(word) ? "Good" : s_note.Contains(word) ? "Note" : "";
    }

    /// <summary>
    /// <paramref name="value"/> wrapped in the escape sequence of its tone (<see cref="Tone"/>), or as it is
    /// when it has none. Views pass <c>$PSStyle.Formatting.Error</c>, <c>$PSStyle.Foreground.Green</c>,
    /// <c>$PSStyle.Formatting.Warning</c> and <c>$PSStyle.Reset</c>.
    /// </summary>
    public static string Paint(object? value, string? bad, string? good, string? note, string? reset)
    {
        var text = value?.ToString() ?? "";
        var style = Tone(value) switch { "Bad" => bad, "Good" => good, "Note" => note, _ => null };
        return string.IsNullOrEmpty(style) ? text : style + text + reset;
    }

    /// <summary>
    /// The width a view should wrap to: the console's width (pass <c>$Host.UI.RawUI.BufferSize.Width</c>),
    /// at most <see cref="MaxWidth"/>, less the last column pwsh keeps free; <see cref="MaxWidth"/> when the host reports none.
    /// </summary>
    public static int WidthFor(int consoleWidth) => (consoleWidth is > 20 and < MaxWidth ? consoleWidth : MaxWidth) - 1;

    /// <summary>
    /// Wraps <paramref name="text"/> at spaces into lines of at most <paramref name="width"/> characters (the
    /// room the view has, e.g. <c>WidthFor($Host.UI.RawUI.BufferSize.Width) - 4</c>), each line indented by
    /// <paramref name="indent"/> spaces. A word longer than a line (a long path) starts a line of its own and,
    /// where it still does not fit, is broken after a '/' or a '-' (see <see cref="PathPieces"/>).
    /// </summary>
    public static string Wrap(string? text, int width, int indent = 0)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var room = Math.Max(20, width);
        var pad = new string(' ', Math.Max(0, indent));
        var result = new StringBuilder();
        foreach (var paragraph in text.Replace("\r\n", "\n").Split('\n'))
        {
            var line = new StringBuilder();
            foreach (var word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > room)
                {
                    result.Append(pad).Append(line).Append('\n');
                    line.Clear();
                }
                var pieces = PathPieces(word, room);
                for (var i = 0; i < pieces.Count - 1; i++)
                {
                    result.Append(pad).Append(pieces[i]).Append('\n');
                }
                line.Append(line.Length > 0 ? " " : "").Append(pieces[^1]);
            }
            result.Append(pad).Append(line).Append('\n');
        }
        return result.ToString().TrimEnd('\n');
    }

    /// <summary>
    /// <paramref name="word"/> in pieces of at most <paramref name="room"/> characters, each ending after a '/' (or,
    /// in a name longer than the line, after a '-'), so that a long path is broken between folder names or the words
    /// of a file name, instead of being cut by the console wherever the line ends. A word that fits, or has nothing
    /// to break at, is one piece.
    /// </summary>
    private static List<string> PathPieces(string word, int room)
    {
        var pieces = new List<string>();
        while (word.Length > room && BreakAfter(word, room) is var cut and > 0)
        {
            pieces.Add(word[..(cut + 1)]);
            word = word[(cut + 1)..];
        }
        pieces.Add(word);
        return pieces;
    }

    private static int BreakAfter(string word, int room) =>
        word.LastIndexOf('/', room - 1) is var slash and > 0 ? slash : word.LastIndexOf('-', room - 1);

    /// <summary>
    /// One row of a table that needs no header, for views that must also read well after other objects: every
    /// cell but the last is padded to its width in <paramref name="widths"/> (escape sequences do not count);
    /// the last takes the rest of the line, wrapped at spaces under itself.
    /// </summary>
    public static string Row(int consoleWidth, int[] widths, params object?[] cells)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Length - 1; i++)
        {
            var text = cells[i]?.ToString() ?? "";
            var width = i < widths.Length ? widths[i] : 0;
            line.Append(text).Append(' ', Math.Max(1, width - VisibleLength(text) + 1));
        }
        var offset = VisibleLength(line.ToString());
        var lastCell = cells.Length > 0 ? cells[^1]?.ToString() ?? "" : "";
        var room = WidthFor(consoleWidth) - offset;
        if (lastCell.Split(' ').Any(word => word.Length > room))
        {
            // A word (a path, a location) that does not fit after the other cells goes on its own lines, whole.
            return line.ToString().TrimEnd() + "\n" + Wrap(lastCell, WidthFor(consoleWidth) - 4, 4);
        }
        return (line + Wrap(lastCell, room, offset).TrimStart(' ')).TrimEnd();
    }

    private static int VisibleLength(string text) => Escape().Replace(text, "").Length;

    [GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial Regex Escape();
}
