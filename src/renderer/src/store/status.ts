import { create } from 'zustand';
import type { DoctorReport } from '../../../shared/channels/app';
import type { EventMap } from '../../../shared/events';
import type { ErrorData } from '../../../shared/errors';

export type EngineState = EventMap['engine.state']['state'];

interface StatusState {
  doctor: DoctorReport | null;
  doctorError: ErrorData | null;
  engine: EngineState;
  engineMessage?: string;
  setDoctor(d: DoctorReport): void;
  setDoctorError(e: ErrorData): void;
  setEngine(s: EventMap['engine.state']): void;
}

export const useStatus = create<StatusState>((set) => ({
  doctor: null,
  doctorError: null,
  engine: 'starting',
  setDoctor: (doctor) => set({ doctor, doctorError: null, engine: 'ready' }),
  setDoctorError: (doctorError) => set({ doctorError }),
  setEngine: (s) => set({ engine: s.state, engineMessage: s.message }),
}));
