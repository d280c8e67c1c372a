namespace GradOracle.Layers;

/// <summary>A pooling op: its windows over the spatial dimensions, for reports that say which window an element lies in.</summary>
public interface IHasWindows
{
    /// <summary>The window layout.</summary>
    PoolingWindows Windows { get; }
}
