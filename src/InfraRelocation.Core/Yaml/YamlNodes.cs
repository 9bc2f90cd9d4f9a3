using YamlDotNet.Core;

namespace InfraRelocation.Core.Yaml;

/// <summary>
/// A node of the located YAML tree, the one model every estate file, the config file and the editor read:
/// where it starts (1-based line and column), and the character span it covers in the parsed text.
/// </summary>
public abstract class YNode
{
    protected YNode(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }
    public int Column { get; }

    /// <summary>Offset (UTF-16 characters, 0-based) of the node's first character, anchor or tag included.</summary>
    public int Start { get; internal set; }

    /// <summary>
    /// Offset just past the node's content: a scalar's last character, a flow collection's closing bracket, a
    /// block collection's last child (never the blank lines or comments after it).
    /// </summary>
    public int End { get; internal set; }

    /// <summary>The anchor (<c>&amp;name</c>) or tag (<c>!tag</c>) written on the node, else null.</summary>
    public string? Anchor { get; internal set; }

    public string? Tag { get; internal set; }

    /// <summary>True for a flow collection (<c>[..]</c>, <c>{..}</c>) and for anything inside one.</summary>
    public bool InFlow { get; internal set; }

    /// <summary>What the node is, for messages: <c>a string</c>, <c>a mapping</c>, <c>a list</c>.</summary>
    public abstract string Describe { get; }
}

/// <summary>A scalar with its raw text and style (plain scalars may be null, numbers, booleans).</summary>
public sealed class YScalar : YNode
{
    public YScalar(string value, ScalarStyle style, int line, int column) : base(line, column)
    {
        Value = value;
        Style = style;
    }

    public string Value { get; }
    public ScalarStyle Style { get; }
    public bool IsPlain => Style == ScalarStyle.Plain;

    /// <summary>A plain, untagged <c>null</c>, <c>~</c> or empty value.</summary>
    public bool IsNull => IsPlain && Tag is null && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe => IsNull ? "null" : IsPlain ? $"'{Value}'" : $"the string '{Value}'";
}

/// <summary>A mapping; keys are scalars, unique (duplicates are rejected while parsing), in file order.</summary>
public sealed class YMapping : YNode
{
    private readonly List<KeyValuePair<YScalar, YNode>> _entries = [];
    private Dictionary<string, int>? _index;

    public YMapping(int line, int column) : base(line, column)
    {
    }

    public IReadOnlyList<KeyValuePair<YScalar, YNode>> Entries => _entries;
    public int Count => _entries.Count;
    public override string Describe => "a mapping";

    /// <summary>A flow mapping (<c>{ a: b }</c>) rather than a block one.</summary>
    public bool Flow { get; internal set; }

    /// <summary>Adds an entry; returns the existing key when the key is already present.</summary>
    internal YScalar? Add(YScalar key, YNode value)
    {
        if (_entries.Count >= 8)
        {
            _index ??= BuildIndex();
            if (_index.TryGetValue(key.Value, out var at))
            {
                return _entries[at].Key;
            }
            _index[key.Value] = _entries.Count;
        }
        else
        {
            foreach (var entry in _entries)
            {
                if (entry.Key.Value == key.Value)
                {
                    return entry.Key;
                }
            }
        }
        _entries.Add(new(key, value));
        return null;
    }

    /// <summary>The index of <paramref name="key"/> in <see cref="Entries"/>, or -1.</summary>
    public int IndexOf(string key)
    {
        if (_index is not null)
        {
            return _index.TryGetValue(key, out var at) ? at : -1;
        }
        for (var i = 0; i < _entries.Count; i++)
        {
            if (_entries[i].Key.Value == key)
            {
                return i;
            }
        }
        return -1;
    }

    public bool TryGet(string key, out YNode value)
    {
        if (_index is not null)
        {
            if (_index.TryGetValue(key, out var at))
            {
                value = _entries[at].Value;
                return true;
            }
        }
        else
        {
            foreach (var entry in _entries)
            {
                if (entry.Key.Value == key)
                {
                    value = entry.Value;
                    return true;
                }
            }
        }
        value = null!;
        return false;
    }

    public YNode? this[string key] => TryGet(key, out var value) ? value : null;

    private Dictionary<string, int> BuildIndex()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _entries.Count; i++)
        {
            index[_entries[i].Key.Value] = i;
        }
        return index;
    }
}

public sealed class YSequence : YNode
{
    public YSequence(int line, int column) : base(line, column)
    {
    }

    public List<YNode> Items { get; } = [];
    public override string Describe => "a list";

    /// <summary>A flow sequence (<c>[a, b]</c>) rather than a block one.</summary>
    public bool Flow { get; internal set; }
}

/// <summary>An alias (<c>*name</c>); only in trees read for editing (estate files may not use aliases).</summary>
public sealed class YAlias : YNode
{
    public YAlias(string name, int line, int column) : base(line, column)
    {
        Name = name;
    }

    public string Name { get; }
    public override string Describe => "an alias";
}
