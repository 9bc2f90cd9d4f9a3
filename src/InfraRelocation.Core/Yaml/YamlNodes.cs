using YamlDotNet.Core;

namespace InfraRelocation.Core.Yaml;

/// <summary>A node of a located YAML tree: where it starts (1-based line and column).</summary>
public abstract class YNode
{
    protected YNode(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }
    public int Column { get; }

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

    /// <summary>A plain <c>null</c>, <c>~</c> or empty value.</summary>
    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

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
}
