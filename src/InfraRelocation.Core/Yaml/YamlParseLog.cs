namespace InfraRelocation.Core.Yaml;

/// <summary>
/// Diagnostics: which texts <see cref="LocatedYamlReader.Parse"/> parsed, and for which file, while a log is open on
/// this async flow. Tests use it to show that a stage of a change parses each text it edits once
/// (docs/design/transactions.md, "One parse per text and stage"). Closed, it costs one <see cref="AsyncLocal{T}"/> read
/// per parse; it only holds references to texts that were parsed anyway.
/// </summary>
public sealed class YamlParseLog : IDisposable
{
    private static readonly AsyncLocal<YamlParseLog?> Current = new();
    private readonly YamlParseLog? _outer;
    private readonly List<(string File, string Text)> _parses = [];

    private YamlParseLog(YamlParseLog? outer) => _outer = outer;

    /// <summary>Opens a log for this async flow (and the tasks it starts) until disposed.</summary>
    public static YamlParseLog Start()
    {
        var log = new YamlParseLog(Current.Value);
        Current.Value = log;
        return log;
    }

    internal static void Record(string file, string text)
    {
        for (var log = Current.Value; log is not null; log = log._outer)
        {
            lock (log._parses)
            {
                log._parses.Add((file, text));
            }
        }
    }

    /// <summary>How many parses named <paramref name="file"/> (all files when null).</summary>
    public int Parses(string? file = null)
    {
        lock (_parses)
        {
            return _parses.Count(p => file is null || p.File == file);
        }
    }

    /// <summary>How many different texts of <paramref name="file"/> were parsed.</summary>
    public int Texts(string file)
    {
        lock (_parses)
        {
            return _parses.Where(p => p.File == file).Select(p => p.Text).Distinct(StringComparer.Ordinal).Count();
        }
    }

    /// <summary>Files one of whose texts was parsed more than once.</summary>
    public IReadOnlyList<string> ParsedTwice()
    {
        lock (_parses)
        {
            return _parses.GroupBy(p => p.File, StringComparer.Ordinal)
                .Where(g => g.Select(p => p.Text).Distinct(StringComparer.Ordinal).Count() < g.Count())
                .Select(g => g.Key).ToList();
        }
    }

    public void Dispose() => Current.Value = _outer;
}
