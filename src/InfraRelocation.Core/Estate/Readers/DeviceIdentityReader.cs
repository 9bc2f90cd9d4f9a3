using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>
/// Reads <c>DEVICE_IDENTITY_SSOT.md</c>: optional YAML front matter, then every markdown table whose header
/// has a host column (hostname, host, device, name, ...). Each row becomes a <see cref="DeviceRecord"/>
/// with every IPv4/IPv6 address written anywhere in the row.
/// </summary>
public static partial class DeviceIdentityReader
{
    private static readonly string[] s_hostHeaders =
        ["hostname", "host", "host id", "host_id", "device", "name", "canonical hostname", "canonical name", "vm", "vm name"];

    [GeneratedRegex(@"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")]
    private static partial Regex Ipv4();

    [GeneratedRegex(@"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")]
    private static partial Regex Ipv6();

    public static DeviceIdentity Read(string text, ReadContext context)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = lines[i].TrimEnd('\r');
        }
        var start = 0;
        IReadOnlyDictionary<string, object?> frontMatter = new Dictionary<string, object?>();
        if (lines.Length > 0 && lines[0].TrimEnd() == "---")
        {
            var end = Array.FindIndex(lines, 1, l => l.TrimEnd() is "---" or "...");
            if (end < 0)
            {
                throw new RelocationException("MarkdownFrontMatterUnclosed", FailureKind.ParserError,
                    "The YAML front matter opened here is never closed with '---'.",
                    new SourceLocation(context.File, 1, 1), context.File);
            }
            var yaml = string.Join('\n', lines[1..end]);
            if (LocatedYamlReader.Parse(yaml, context.File, lineOffset: 1) is YMapping map)
            {
                frontMatter = map.Entries.ToDictionary(e => e.Key.Value, e => Fields.ToPlain(e.Value), StringComparer.Ordinal);
            }
            start = end + 1;
        }

        var devices = new List<DeviceRecord>();
        string? section = null;
        for (var i = start; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith('#'))
            {
                section = trimmed.TrimStart('#').Trim();
                continue;
            }
            if (!trimmed.StartsWith('|') || i + 1 >= lines.Length || !IsSeparator(lines[i + 1]))
            {
                continue;
            }
            var headers = SplitRow(line).Select(c => c.Text).ToList();
            var hostColumn = headers.FindIndex(h => Array.IndexOf(s_hostHeaders, Normalize(h).ToLowerInvariant()) >= 0 ||
                                                    Normalize(h).Contains("hostname", StringComparison.OrdinalIgnoreCase));
            i += 2;
            for (; i < lines.Length && lines[i].TrimStart().StartsWith('|'); i++)
            {
                if (hostColumn < 0)
                {
                    continue;
                }
                var cells = SplitRow(lines[i]);
                if (hostColumn >= cells.Count)
                {
                    continue;
                }
                var host = Normalize(cells[hostColumn].Text);
                if (host.Length == 0 || host is "-" or "–" or "—" or "n/a" or "N/A")
                {
                    continue;
                }
                var columns = new Dictionary<string, string>(StringComparer.Ordinal);
                for (var c = 0; c < cells.Count && c < headers.Count; c++)
                {
                    columns[Normalize(headers[c])] = Normalize(cells[c].Text);
                }
                devices.Add(new DeviceRecord
                {
                    Hostname = host,
                    Addresses = Addresses(lines[i]),
                    Section = section,
                    Columns = columns,
                    Location = new SourceLocation(context.File, i + 1, cells[hostColumn].Column),
                });
            }
            i--;
        }
        return new DeviceIdentity
        {
            File = context.File,
            Devices = devices,
            Extra = frontMatter,
            Location = new SourceLocation(context.File, 1, 1),
        };
    }

    /// <summary>Every valid IPv4 or IPv6 address written in <paramref name="text"/>, in order, once each.</summary>
    public static IReadOnlyList<string> Addresses(string text)
    {
        var found = new List<string>();
        foreach (Match m in Ipv4().Matches(text))
        {
            if (IPAddress.TryParse(m.Value, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork &&
                m.Value.Split('.').All(o => o.Length == 1 || o[0] != '0') && !found.Contains(m.Value))
            {
                found.Add(m.Value);
            }
        }
        foreach (Match m in Ipv6().Matches(text))
        {
            if (m.Value.Count(c => c == ':') >= 2 && IPAddress.TryParse(m.Value, out var ip) &&
                ip.AddressFamily == AddressFamily.InterNetworkV6 && !found.Contains(m.Value))
            {
                found.Add(m.Value);
            }
        }
        return found;
    }

    private static bool IsSeparator(string line)
    {
        var cells = SplitRow(line);
        return cells.Count > 0 && cells.All(c => c.Text.Length > 0 && c.Text.Trim(':').Length > 0 && c.Text.Trim(':').All(ch => ch == '-'));
    }

    private static string Normalize(string cell) => cell.Replace("`", "").Replace("**", "").Trim();

    // Cells of "| a | b |" with their 1-based columns; "\|" is a literal bar.
    private static List<(string Text, int Column)> SplitRow(string line)
    {
        var cells = new List<(string, int)>();
        var startAt = line.IndexOf('|');
        var cellStart = startAt + 1;
        for (var i = startAt + 1; i <= line.Length; i++)
        {
            if (i == line.Length || (line[i] == '|' && line[i - 1] != '\\'))
            {
                var raw = line[cellStart..i];
                if (i == line.Length && raw.Trim().Length == 0)
                {
                    break;
                }
                var lead = raw.Length - raw.TrimStart().Length;
                cells.Add((raw.Replace("\\|", "|").Trim(), cellStart + lead + 1));
                cellStart = i + 1;
            }
        }
        return cells;
    }
}
