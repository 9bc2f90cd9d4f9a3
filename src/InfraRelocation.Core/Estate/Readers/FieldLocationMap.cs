using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>
/// Where each field of one record was read (<see cref="InfraRelocation.Model.ModelEntry.FieldLocations"/>), kept as
/// keys and line/column pairs in one small array; a <see cref="SourceLocation"/> is made only when one is asked for
/// (a finding). A large estate has tens of thousands of records, and a dictionary of location objects per record was
/// the largest share of their memory. Lookups are linear: a record has a few dozen fields at most. It is also a
/// read-only <see cref="IDictionary"/>, as the dictionary it replaces was, so PowerShell still reads it as one
/// (<c>$entry.FieldLocations.to_host</c>, ConvertTo-Json, the format views).
/// </summary>
public sealed class FieldLocationMap : IReadOnlyDictionary<string, SourceLocation>, IDictionary
{
    private readonly string _file;
    private Field[] _fields;
    private int _count;

    private readonly record struct Field(string Key, int Line, int Column);

    public FieldLocationMap(string file, int capacity)
    {
        _file = file;
        _fields = new Field[Math.Max(capacity, 1)];
    }

    /// <summary>Records (or replaces) where <paramref name="key"/>'s value starts.</summary>
    internal void Set(string key, int line, int column)
    {
        var at = IndexOf(key);
        if (at >= 0)
        {
            _fields[at] = new Field(key, line, column);
            return;
        }
        if (_count == _fields.Length)
        {
            Array.Resize(ref _fields, _count * 2);
        }
        _fields[_count++] = new Field(key, line, column);
    }

    private int IndexOf(string key)
    {
        for (var i = 0; i < _count; i++)
        {
            if (string.Equals(_fields[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private SourceLocation At(int i) => new(_file, _fields[i].Line, _fields[i].Column);

    public int Count => _count;

    public SourceLocation this[string key] => IndexOf(key) is >= 0 and var at ? At(at) : throw new KeyNotFoundException(key);

    public IEnumerable<string> Keys => this.Select(pair => pair.Key);

    public IEnumerable<SourceLocation> Values => this.Select(pair => pair.Value);

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out SourceLocation value)
    {
        var at = IndexOf(key);
        value = at >= 0 ? At(at) : null;
        return at >= 0;
    }

    public IEnumerator<KeyValuePair<string, SourceLocation>> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return new(_fields[i].Key, At(i));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // ---- IDictionary, read-only ----

    bool IDictionary.IsFixedSize => true;
    bool IDictionary.IsReadOnly => true;
    bool ICollection.IsSynchronized => false;
    object ICollection.SyncRoot => this;
    ICollection IDictionary.Keys => Keys.ToArray();
    ICollection IDictionary.Values => Values.ToArray();

    object? IDictionary.this[object key]
    {
        get => key is string text && TryGetValue(text, out var value) ? value : null;
        set => throw new NotSupportedException("Field locations are read-only.");
    }

    bool IDictionary.Contains(object key) => key is string text && ContainsKey(text);

    // As the dictionary's own: its entries are DictionaryEntry (ConvertTo-Json casts them so).
    IDictionaryEnumerator IDictionary.GetEnumerator() =>
        ((IDictionary)this.ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal)).GetEnumerator();

    void ICollection.CopyTo(Array array, int index)
    {
        foreach (var pair in this)
        {
            array.SetValue(new DictionaryEntry(pair.Key, pair.Value), index++);
        }
    }

    void IDictionary.Add(object key, object? value) => throw new NotSupportedException("Field locations are read-only.");
    void IDictionary.Clear() => throw new NotSupportedException("Field locations are read-only.");
    void IDictionary.Remove(object key) => throw new NotSupportedException("Field locations are read-only.");
}
