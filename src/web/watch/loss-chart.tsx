/** The loss curve, drawn by uPlot: one point per step, redrawn as steps arrive. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const HEIGHT = 240;

export function LossChart({ steps, losses, label }: { readonly steps: readonly number[]; readonly losses: readonly number[]; readonly label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = host.current!;
    plot.current = new uPlot(
      {
        width: Math.max(element.clientWidth, 320),
        height: HEIGHT,
        scales: { x: { time: false } },
        // Whole steps on the x axis.
        axes: [{ label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, { label: 'training loss', size: 60 }],
        series: [{ label: 'step' }, { label: 'training loss', stroke: '#3b6ea5', width: 2, points: { show: false } }],
        legend: { show: false },
      },
      [[], []],
      element,
    );
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(element.clientWidth, 320), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => {
    plot.current?.setData([[...steps], [...losses]]);
  }, [steps, losses]);
  return <figure class="loss-chart" aria-label={label} ref={host} />;
}
